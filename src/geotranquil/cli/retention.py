"""``geotranquil retention``: the retention rules in force, and the purge (issue 14 §4)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from geotranquil.cli.app import friendly, load_settings, new_app, number
from geotranquil.cli.progress import console
from geotranquil.errors import InvalidInput

app = new_app("Conservation des données : règles en vigueur et purge.")

#: tables touched by a purge, as staff call them
TABLES_FR = {
    "events": "événements",
    "event_geocoding": "géocodages",
    "service_requests": "signalements",
    "service_request_history": "historique",
    "service_request_contacts": "coordonnées",
    "service_request_media": "photos",
    "ingest_rejections": "lignes rejetées",
}


@friendly
def retention_rules() -> None:
    """Affiche la politique de conservation en vigueur et ce que chaque règle efface."""
    from geotranquil.retention_policy import KINDS
    from geotranquil.services.retention import current_policy

    policy = current_policy(load_settings())
    console.print(f"Politique de conservation en vigueur : {policy.origin}", soft_wrap=True)
    table = Table()
    for column in ("n°", "source", "catégorie", "donnée", "gardée", "effacé", "note"):
        table.add_column(column)
    for r in policy.rules:
        kind = KINDS[r.data]
        cleared = kind.clears
        if r.data == "free_text":
            cleared = "champs " + ", ".join(r.attributes) + " ; " + cleared
        table.add_row(str(r.number), r.source, r.category, kind.label, r.duration, cleared, r.note)
    console.print(table)
    console.print(
        "La règle la plus précise l'emporte (source et catégorie, puis source, puis "
        "catégorie, puis « * »). Les événements restent : les comptages ne changent pas."
    )


@friendly
def retention_purge(
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", "--simulation", help="Compter seulement : rien n'est modifié."),
    ] = False,
    date: Annotated[
        str | None,
        typer.Option("--date", help="Jour de la purge (AAAA-MM-JJ ; défaut : aujourd'hui)."),
    ] = None,
) -> None:
    """Efface ce qui a dépassé sa durée de conservation, en une transaction (rejouable)."""
    from geotranquil.services.engine import open_engine
    from geotranquil.services.retention import purge

    day = None
    if date is not None:
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            raise InvalidInput(f"date « {date} » illisible : attendu AAAA-MM-JJ") from None
    settings = load_settings()
    report = purge(open_engine(settings), settings, day=day, simulate=dry_run)
    verb = "effacerait" if report.simulated else "efface"
    console.print(
        f"{'Simulation de purge' if report.simulated else 'Purge'} du {report.day}, "
        f"politique de conservation {report.origin} :",
        soft_wrap=True,
    )
    table = Table()
    for column in ("n°", "source", "catégorie", "donnée", "gardée", "avant le", "lignes"):
        table.add_column(column)
    for o in report.outcomes:
        r = o.rule
        detail = ", ".join(f"{number(n)} {TABLES_FR[t]}" for t, n in o.counts.items() if n)
        table.add_row(
            str(r.number),
            r.source,
            r.category,
            r.data,
            r.duration,
            "—" if o.first_day_kept is None else str(o.first_day_kept),
            detail or "0",
        )
    console.print(table)
    console.print(
        f"Total : la purge {verb} {number(report.total)} ligne(s)."
        + (" Simulation : rien n'a été modifié." if report.simulated else "")
    )


app.command("rules")(retention_rules)
app.command("regles", hidden=True)(retention_rules)
app.command("purge")(retention_purge)
app.command("purger", hidden=True)(retention_purge)
