"""``geotranquil ingest``, ``status`` and ``rejects``: files in, and what they left."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from geotranquil.cli.app import friendly, load_settings, number, resumable
from geotranquil.cli.geocode import print_geocoding
from geotranquil.cli.progress import bytes_bar, console, steps_bar
from geotranquil.config import Settings
from geotranquil.ingest.pipeline import IngestSummary
from geotranquil.ingest.validate import REASONS

STATUS_FR = {"running": "en cours ou interrompu", "completed": "terminé", "failed": "en échec"}


def print_summary(s: IngestSummary) -> None:
    """Summary of one ingestion, with rejections by reason."""
    if s.status == "skipped":
        console.print(
            f"[yellow]{s.file_name}[/] déjà ingéré avec cette même correspondance "
            f"(lot {s.batch_id}, {number(s.accepted)} événement(s) enregistré(s)) : rien à faire. "
            "Utilisez --force pour le relire."
        )
        return
    table = Table(title=f"Lot {s.batch_id} — {s.source} — {s.file_name}", show_header=False)
    for label, value in (
        ("lignes lues", s.rows_read),
        ("nouveaux événements", s.inserted),
        ("événements corrigés", s.updated),
        ("inchangés", s.unchanged),
        ("sans position (adresse à géocoder)", s.unlocated),
        ("lignes rejetées", s.rejected),
    ):
        table.add_row(label, number(value))
    for reason, n in s.rejections_by_reason.items():
        table.add_row(f"  rejet : {REASONS.get(reason, reason)} [dim]({reason})[/]", str(n))
    if s.resumed_from:
        table.add_row("reprise après la ligne", str(s.resumed_from))
    table.add_row("durée", f"{s.seconds:.1f} s")
    console.print(table)


def _ingest(
    settings: Settings, path: Path, source: str | None, mapping_file: Path | None, force: bool
) -> IngestSummary:
    from geotranquil.services.ingestion import ingest, resolve_mapping

    mapping = resolve_mapping(settings, source, mapping_file)
    with bytes_bar(f"{mapping.slug} ← {path.name}") as bar:

        def progress(rows: int, done: int, total: int) -> None:
            bar.update(completed=done, total=total, rows=number(rows))

        return ingest(settings, path, mapping, force=force, progress=progress)


def _place(settings: Settings, summary: IngestSummary) -> None:
    """Geocode the address-only events of a batch, when a BAN is loaded."""
    from geotranquil.services.engine import open_engine
    from geotranquil.services.placing import needs_placing, place_batch

    if not needs_placing(summary):
        return
    with steps_bar("Géocodage des adresses", 0, lazy=True) as bar:
        placed = place_batch(
            open_engine(settings),
            settings,
            summary,
            lambda done, total: bar.update(completed=done, total=total),
        )
    if placed is None:
        console.print(
            f"{number(summary.unlocated)} événement(s) sans position attendent le géocodage : "
            "chargez la BAN (geotranquil addresses load) puis lancez « geotranquil geocode »."
        )
        return
    print_geocoding(placed)


@resumable
def ingest_cmd(
    file: Annotated[
        Path, typer.Argument(help="Fichier natif d'un silo (CSV, GeoJSON, JSON, JSON lines).")
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            "-s",
            help="Source connue : police_municipale, csu, services_espace_public, habitants.",
        ),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            "-m",
            help="Fichier de correspondance TOML d'une nouvelle source (format : docs/sources.md).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Relire un fichier déjà ingéré.")] = False,
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh",
            help="Mettre en file l'actualisation des analyses (après le délai "
            "GEOTRANQUIL_REFRESH_DEBOUNCE_S) ; sans cette option, un travailleur la lance de "
            "lui-même dans la minute qui suit le changement des données.",
        ),
    ] = False,
) -> None:
    """Ingère un fichier : validation ligne à ligne, rejets motivés, positions sur la grille H3.

    Relancer la même commande ne crée pas de doublon ; un fichier interrompu reprend
    où il s'était arrêté ; un fichier relu après correction de sa correspondance est relu.

    Nouvelle source : le format des fichiers de correspondance (--mapping) est décrit dans
    docs/sources.md ; essayez-la d'abord à blanc avec « geotranquil sources check MAPPING FICHIER »
    et listez les codes de catégorie avec « geotranquil categories ».
    Code de sortie non nul seulement si aucune ligne n'a pu être ingérée.
    """
    settings = load_settings()
    summary = _ingest(settings, file, source, mapping, force)
    print_summary(summary)
    _place(settings, summary)
    if refresh:
        from geotranquil.jobs import request_refresh

        queued = request_refresh(settings, "data")
        console.print(
            f"Actualisation des analyses en file (tâche n° {queued})."
            if queued
            else "Une actualisation des analyses attend déjà : elle verra ces données."
        )
    if summary.status == "completed" and summary.accepted == 0:
        console.print("[bold red]Aucune ligne n'a pu être ingérée.[/]")
        raise typer.Exit(1)


@friendly
def status() -> None:
    """Résumé du contenu de la base : zones, grille, événements par source, derniers lots."""
    from geotranquil.services.status import database_status

    st = database_status(load_settings())
    console.print(f"Révision du schéma : {st['revision']}")
    console.print(f"Zones : {st['areas']}   Grille : {st['grid']}")
    ban = st["ban"]
    console.print(
        f"Adresses (BAN) : {number(ban['addresses'])}"
        + (f", version {ban['release']}" if ban["release"] else " (aucune chargée)")
        + f"   Géocodés : {number(ban['geocoded'])} placés, {number(ban['unplaced'])} non placés"
    )
    table = Table("source", "événements", "localisés", "à géocoder", title="Événements")
    for row in st["sources"]:
        table.add_row(
            row["slug"], number(row["events"]), number(row["located"]), number(row["unlocated"])
        )
    console.print(table)
    lots = Table(
        "lot",
        "source",
        "fichier",
        "état",
        "lues",
        "nouveaux",
        "corrigés",
        "rejetées",
        title="Derniers lots d'ingestion",
    )
    for b in st["batches"]:
        lots.add_row(
            str(b["id"]),
            b["source"],
            b["file_name"],
            STATUS_FR.get(b["status"], b["status"]),
            number(b["rows_read"]),
            number(b["inserted"]),
            number(b["updated"]),
            number(b["rejected"]),
        )
    console.print(lots)
    console.print("Détail des rejets d'un lot : geotranquil rejects NUMÉRO_DE_LOT")


@friendly
def rejects(
    batch: Annotated[int, typer.Argument(help="Numéro du lot (voir « geotranquil status »).")],
    csv_out: Annotated[
        Path | None,
        typer.Option(
            "--csv", help="Écrire les lignes rejetées, avec leur contenu brut, dans ce fichier CSV."
        ),
    ] = None,
) -> None:
    """Liste les lignes rejetées d'un lot, avec le motif, pour les corriger à la source."""
    from geotranquil.services.batches import rejections
    from geotranquil.services.engine import open_engine
    from geotranquil.services.sources import batch_record_word

    settings = load_settings()
    rows = rejections(open_engine(settings), batch)
    word = batch_record_word(settings, batch)  # « ligne » (CSV, header = 1) or « enregistrement »
    table = Table(word, "motif", "détail", title=f"Lot {batch} : {number(len(rows))} rejet(s)")
    for r in rows[:200]:
        table.add_row(str(r["row_number"]), r["reason"], escape(r["detail"] or ""))
    console.print(table)
    if len(rows) > 200:
        console.print(f"… et {number(len(rows) - 200)} autres : utilisez --csv pour tout exporter.")
    if csv_out is not None:
        with csv_out.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=";")
            writer.writerow([word, "motif", "detail", "contenu_brut"])
            for r in rows:
                writer.writerow([r["row_number"], r["reason"], r["detail"], r["raw"]])
        console.print(f"Rejets écrits dans {csv_out}.")
