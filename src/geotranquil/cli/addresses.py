"""``geotranquil addresses``: the Base Adresse Nationale, reference of the geocoder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from geotranquil.cli.app import load_settings, new_app, number, resumable
from geotranquil.cli.progress import bytes_bar, console
from geotranquil.services.addresses import BanLoadSummary

app = new_app("Base Adresse Nationale : adresses de référence du géocodage.")


def print_ban_load(s: BanLoadSummary) -> None:
    """French summary of a BAN load."""
    from geotranquil.geocode.ban import REASONS as BAN_REASONS

    if s.status == "skipped":
        console.print(
            f"[yellow]{s.file_name}[/] déjà chargé (version {s.release_id}, "
            f"{number(s.unchanged)} adresses) : rien n'a changé. Utilisez --force pour le relire."
        )
        return
    table = Table(title=f"BAN version {s.release_id} — {s.file_name}", show_header=False)
    for label, value in (
        ("lignes lues", s.rows_read),
        ("nouvelles adresses", s.inserted),
        ("adresses modifiées", s.updated),
        ("inchangées", s.unchanged),
        ("disparues (supprimées)", s.removed),
        ("lignes rejetées", s.rejected),
    ):
        table.add_row(label, number(value))
    for reason, n in s.rejections_by_reason.items():
        table.add_row(f"  rejet : {BAN_REASONS.get(reason, reason)} [dim]({reason})[/]", number(n))
    table.add_row("communes", f"{len(s.communes)} : {', '.join(s.communes[:16])}")
    table.add_row("durée", f"{s.seconds:.1f} s")
    console.print(table)
    for r in s.rejections[:5]:
        console.print(f"  ligne {r.row_number} rejetée : {r.detail}", soft_wrap=True)


@app.command("load")
@resumable
def addresses_load(
    file: Annotated[
        Path, typer.Argument(help="Fichier de la BAN (CSV « ; » officiel, ou .csv.gz).")
    ],
    force: Annotated[bool, typer.Option("--force", help="Relire un fichier déjà chargé.")] = False,
) -> None:
    """Charge un fichier de la Base Adresse Nationale (adresse.data.gouv.fr).

    Les adresses des communes du fichier remplacent la version précédente (nouvelles,
    modifiées, disparues) ; les autres communes ne changent pas. Relancer la même commande
    ne refait rien ; un chargement interrompu laisse les adresses précédentes utilisables.
    """
    from geotranquil.services.addresses import load_ban

    with bytes_bar(f"BAN ← {file.name}") as bar:

        def progress(rows: int, done: int, total: int) -> None:
            bar.update(completed=done, total=total, rows=number(rows))

        summary = load_ban(load_settings(), file, force=force, progress=progress)
    print_ban_load(summary)
