"""``geotranquil worker``: runs the queued jobs (purges, later ingestion and refreshes)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from geotranquil.cli.app import friendly, load_settings
from geotranquil.cli.progress import console


@friendly
def worker(
    queue: Annotated[
        list[str] | None,
        typer.Option("--queue", "-q", help="Files de tâches à traiter (toutes par défaut)."),
    ] = None,
    once: Annotated[
        bool,
        typer.Option("--once", help="S'arrêter dès que la file n'a plus rien à faire."),
    ] = False,
) -> None:
    """Exécute les tâches en file (purges de conservation…) jusqu'à SIGINT ou SIGTERM.

    Une tâche interrompue (processus tué, machine perdue) est reprise par un autre
    travailleur, ou par celui-ci à son redémarrage ; une tâche en échec est retentée avec
    une attente croissante (voir GEOTRANQUIL_JOBS_MAX_ATTEMPTS et GEOTRANQUIL_JOBS_BACKOFF_S).
    """
    from geotranquil.jobs import run_worker

    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    console.print("Travailleur démarré : Ctrl+C pour l'arrêter après la tâche en cours.")
    run_worker(settings, queues=queue or None, wait=not once)
    console.print("Travailleur arrêté.")
