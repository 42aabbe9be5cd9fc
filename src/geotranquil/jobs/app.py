"""The procrastinate app of the platform, built from the settings, and queueing a job."""

from __future__ import annotations

from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from geotranquil.config import Settings
from geotranquil.errors import Conflict
from geotranquil.jobs import tasks
from geotranquil.services.engine import libpq_dsn


class AlreadyQueued(Conflict):
    """The same job is already waiting in the queue (its queueing lock is taken)."""


def build_app(settings: Settings) -> procrastinate.App:
    """The queue on ``settings.direct_url`` (psycopg 3 pool; LISTEN needs a session of its own,
    so never through PgBouncer), with every job registered.

    Workers send a heartbeat every ``jobs_heartbeat_s`` seconds; a worker silent for
    ``jobs_stalled_after_s`` is taken for dead and its running jobs are queued again
    (:data:`geotranquil.jobs.tasks.RETRY_STALLED`).
    """
    connector = procrastinate.PsycopgConnector(conninfo=libpq_dsn(settings), min_size=1, max_size=4)
    app = procrastinate.App(
        connector=connector,
        worker_defaults={
            "concurrency": settings.jobs_concurrency,
            "update_heartbeat_interval": settings.jobs_heartbeat_s,
            "stalled_worker_timeout": settings.jobs_stalled_after_s,
            "install_signal_handlers": True,
        },
    )
    tasks.register(app, settings)
    return app


def enqueue(settings: Settings, task: str, **args: Any) -> int:
    """Queue job ``task`` with ``args`` (JSON values); its id.

    Raises :class:`AlreadyQueued` when a job with the same queueing lock is still waiting.
    """
    app = build_app(settings)
    with app.open():
        try:
            return int(app.tasks[task].defer(**args))
        except AlreadyEnqueued:
            raise AlreadyQueued(f"une tâche {task} attend déjà dans la file") from None
