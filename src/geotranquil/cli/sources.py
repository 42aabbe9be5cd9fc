"""``geotranquil sources check`` and ``geotranquil categories``: writing a new source's mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from geotranquil.cli.app import friendly, load_settings, new_app, number
from geotranquil.cli.progress import console
from geotranquil.ingest.dryrun import CheckReport
from geotranquil.ingest.validate import REASONS

DOC = "docs/sources.md"

app = new_app(
    f"Sources de données : essayer la correspondance (mapping) d'une nouvelle source. Voir {DOC}."
)


def print_report(r: CheckReport) -> None:
    """The dry run's figures, the first rows as mapped, rejections by reason, hints."""
    word = r.record_word
    console.print(
        f"[bold]Essai à blanc[/] de la source [bold]{r.source}[/] sur {r.file_name} : "
        "rien n'a été enregistré."
    )
    if word == "ligne":
        console.print("Numérotation : ligne du fichier (l'en-tête est la ligne 1).")
    else:
        console.print("Numérotation : enregistrement du fichier (le premier est le numéro 1).")
    title = (
        "Premières lignes telles qu'elles seraient enregistrées"
        if word == "ligne"
        else "Premiers enregistrements tels qu'ils seraient enregistrés"
    )
    rows = Table(
        word, "identifiant", "date (heure locale)", "catégorie", "valeur native", "lon", "lat",
        "précision", "adresse", title=title,
    )  # fmt: skip
    for row in r.first_rows:
        rows.add_row(
            str(row["number"]),
            escape(str(row["external_id"])),
            row["occurred_at"],
            row["category"],
            escape(str(row["native_category"])),
            "—" if row["lon"] is None else f"{row['lon']:.6f}",
            "—" if row["lat"] is None else f"{row['lat']:.6f}",
            row["location_precision"],
            escape(row["address"] or "—"),
        )
    console.print(rows)
    summary = Table(show_header=False, title="Bilan")
    for label, value in (
        (f"{word}s lues" if word == "ligne" else "enregistrements lus", r.rows_read),
        ("acceptées", r.accepted),
        ("dont sans position (adresse à géocoder)", r.unlocated),
        ("rejetées", r.rejected),
    ):
        summary.add_row(label, number(value))
    console.print(summary)
    if r.rejections_by_reason:
        table = Table("motif", "code", "nombre", "premier exemple", title="Rejets par motif")
        for reason, n in r.rejections_by_reason.items():
            ex = r.examples[reason]
            table.add_row(
                REASONS.get(reason, reason),
                reason,
                number(n),
                f"{word} {ex.row_number} : {ex.detail}",
            )
        console.print(table)
    for hint in r.hints:
        console.print(f"[yellow]Piste :[/] {escape(hint)}")


@app.command("check")
@friendly
def check(
    mapping: Annotated[Path, typer.Argument(help="Fichier de correspondance TOML de la source.")],
    file: Annotated[Path, typer.Argument(help="Un fichier natif de la source.")],
    rows: Annotated[int, typer.Option("--rows", "-n", help="Lignes montrées.", min=1)] = 10,
) -> None:
    """Essai à blanc : lit tout le fichier avec la correspondance, montre les premières lignes
    telles qu'elles seraient enregistrées, les rejets par motif et des pistes de correction.
    N'écrit rien dans la base. Format des correspondances : docs/sources.md.
    """
    from geotranquil.services.sources import check_source

    print_report(check_source(load_settings(), mapping, file, first_rows=rows))


@friendly
def categories() -> None:
    """Liste les catégories canoniques : code à utiliser dans [category.values], libellé, public."""
    from geotranquil.services.sources import categories as list_categories

    table = Table("code", "libellé", "famille", "publique", title="Catégories canoniques")
    for c in list_categories(load_settings()):
        table.add_row(c["code"], c["label"], c["family_label"], "oui" if c["public"] else "non")
    console.print(table)
    console.print(f"Une source fait correspondre ses propres mots à ces codes : voir {DOC}.")
