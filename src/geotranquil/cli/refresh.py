"""``geotranquil refresh``: recompute the served analyses (queued, or here and now)."""

from __future__ import annotations

from typing import Annotated

import typer

from geotranquil.cli.app import friendly, load_settings
from geotranquil.cli.progress import console


@friendly
def refresh(
    now: Annotated[
        bool,
        typer.Option(
            "--now",
            help="Calculer ici et maintenant, étape par étape, au lieu de mettre en file "
            "pour un travailleur.",
        ),
    ] = False,
    if_changed: Annotated[
        bool,
        typer.Option(
            "--if-changed",
            help="Avec --now : ne rien recalculer si les événements n'ont pas changé depuis "
            "la dernière actualisation.",
        ),
    ] = False,
) -> None:
    """Actualise les analyses servies : points chauds, points chauds émergents, regroupements,
    prévision et images de synthèse, à partir des données actuelles.

    Sans option, l'actualisation est mise en file et un travailleur (geotranquil worker)
    l'exécute ; avec --now, elle est calculée dans ce processus. Les calculs précédents restent
    consultables ; la carte montre les nouveaux dès qu'ils sont enregistrés.
    """
    settings = load_settings()
    if not now:
        from geotranquil.jobs.refresh import queue_manual_refresh

        job_id = queue_manual_refresh(settings)
        console.print(
            f"Actualisation mise en file (tâche n° {job_id}) : un travailleur l'exécutera "
            "(geotranquil jobs --task refresh_analyses pour la suivre)."
        )
        return
    from geotranquil.services.engine import open_engine
    from geotranquil.services.refresh import refresh_analyses

    report = refresh_analyses(
        open_engine(settings),
        settings,
        trigger="manual",
        force=not if_changed,
        progress=console.print,
    )
    for note in report.notes:
        if report.status == "succeeded":
            console.print(f"[yellow]Étape laissée de côté : {note}[/]")
