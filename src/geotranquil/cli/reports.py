"""``geotranquil reports``: the residents' reports (Open311), their summary and personal data."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from geotranquil.cli.app import friendly, load_settings, new_app, number
from geotranquil.cli.progress import console
from geotranquil.services.open311_summary import ReportsSummary

app = new_app("Signalements des habitants (Open311) : bilan et données personnelles.")


@friendly
def reports_purge() -> None:
    """Supprime coordonnées et photos au-delà de leur durée (raccourci de « retention purge »)."""
    from geotranquil.services.engine import open_engine
    from geotranquil.services.retention import purge

    settings = load_settings()
    report = purge(open_engine(settings), settings, kinds=("contact", "photo"))
    contacts = report.count("contact", "service_request_contacts")
    photos = report.count("photo", "service_request_media")
    console.print(
        f"Données personnelles supprimées (politique de conservation {report.origin}) : "
        f"{number(contacts)} coordonnée(s), {number(photos)} photo(s)."
    )


@friendly
def reports_summary_cmd(
    days: Annotated[
        int,
        typer.Option("--days", "--jours", min=1, max=3660, help="Période : les N derniers jours."),
    ] = 90,
    end: Annotated[
        str | None,
        typer.Option(
            "--end", "--fin", help="Dernier jour de la période (AAAA-MM-JJ ; défaut : aujourd'hui)."
        ),
    ] = None,
    image: Annotated[
        Path | None, typer.Option(help="Image PNG (défaut : DATA_DIR/overview/signalements.png).")
    ] = None,
) -> None:
    """Bilan des signalements : par catégorie, où ils en sont et en combien de temps."""
    from geotranquil.services.engine import open_engine
    from geotranquil.services.open311_summary import reports_summary

    settings = load_settings()
    until = None
    if end is not None:
        try:
            last = date.fromisoformat(end)
        except ValueError:
            raise typer.BadParameter(f"date AAAA-MM-JJ attendue, reçu « {end} »") from None
        until = datetime.combine(last + timedelta(days=1), time(), ZoneInfo(settings.timezone))
    picture = image or settings.data_dir / "overview" / "signalements.png"
    done = reports_summary(open_engine(settings), settings, days=days, end=until, picture=picture)
    print_reports_summary(done)


def print_reports_summary(done: ReportsSummary) -> None:
    """The summary table in French, and where the picture is."""
    last = done.end - timedelta(microseconds=1)  # the period ends before ``end``
    table = Table(title=f"Signalements des habitants, {done.start:%d/%m/%Y} – {last:%d/%m/%Y}")
    for header in (
        "catégorie",
        "reçus",
        "en attente",
        "résolus",
        "rejetés",
        "doublons",
        "1re action (h, méd.)",
        "résolution (j, méd.)",
    ):
        table.add_column(header, justify="left" if header == "catégorie" else "right")

    def decimal(value: float) -> str:
        return "—" if value != value else f"{value:.1f}".replace(".", ",")

    for name, row in done.table.iterrows():
        table.add_row(
            "Total" if name == "Total" else str(name),
            *(number(int(row[c])) for c in ("filed", "open", "resolved", "rejected", "duplicates")),
            decimal(row["median_hours_to_first_action"]),
            decimal(row["median_days_to_resolution"]),
        )
    console.print(table)
    if done.picture is not None:
        console.print(f"Image : {done.picture}")
    else:
        console.print("Aucun signalement sur la période : pas d'image.")


app.command("summary")(reports_summary_cmd)
app.command("bilan", hidden=True)(reports_summary_cmd)
app.command("purge")(reports_purge)
