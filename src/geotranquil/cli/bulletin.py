"""``geotranquil bulletin``: the weekly bulletin for decision makers, as a PDF (issue 16 §5)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geotranquil.cli.app import friendly, load_settings, number
from geotranquil.cli.progress import console


@friendly
def bulletin(
    week: Annotated[
        str | None,
        typer.Option(
            "--week",
            "--semaine",
            metavar="AAAA-Snn",
            help="Semaine ISO du bulletin, par exemple 2026-S49 (défaut : la semaine passée, "
            "du lundi au dimanche, heure locale).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "--sortie",
            metavar="FICHIER",
            help="Fichier PDF à écrire (défaut : bulletin-AAAA-Snn.pdf dans le dossier courant).",
        ),
    ] = None,
) -> None:
    """Construit le bulletin hebdomadaire (PDF) d'une semaine terminée et l'enregistre.

    Résumé chiffré, carte des points chauds et des tendances émergentes, les dix quartiers
    qui ont le plus changé, les comptes par arrondissement, la prévision de la semaine
    suivante et les signalements des habitants. Un bulletin déjà construit pour la même
    semaine est remplacé.
    """
    from geotranquil.services import bulletin as service
    from geotranquil.services.engine import open_engine

    settings = load_settings()
    wanted = service.resolve_week(settings, week)
    console.print(f"Bulletin de la semaine {wanted.label} ({wanted.french_span()}) :")

    def stage(what: str) -> None:
        console.print(f"  • {what} …", highlight=False)

    built = service.build(open_engine(settings), settings, wanted, progress=stage)
    path = output or Path(service.file_name(built.week))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(built.pdf)
    console.print(
        f"Bulletin {built.week} écrit dans {path} ({number(built.size)} octets, "
        f"sha256 {built.sha256[:12]}…) et enregistré dans la base.",
        soft_wrap=True,
        highlight=False,
    )
