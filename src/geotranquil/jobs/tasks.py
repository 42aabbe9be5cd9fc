"""The registry of the jobs a worker runs: one module per family, each with a ``register``.

Each job is idempotent and commits its effects in one transaction (DESIGN.md §10): a worker
killed in the middle leaves nothing, and the job queued again does all of it once. A new family
of jobs is a new module in this package and one line in :data:`REGISTRARS`.
"""

from __future__ import annotations

from collections.abc import Callable

import procrastinate

from geotranquil.config import Settings
from geotranquil.jobs import alerts, bulletin, ingest, maintenance, refresh
from geotranquil.jobs.common import JobActor, requeue_stalled, retry_strategy
from geotranquil.jobs.names import (
    HOUSEKEEPING,
    MAINTENANCE,
    RETENTION_PURGE,
    RETRY_STALLED,
)

__all__ = [
    "HOUSEKEEPING",
    "MAINTENANCE",
    "REGISTRARS",
    "RETENTION_PURGE",
    "RETRY_STALLED",
    "JobActor",
    "register",
    "requeue_stalled",
    "retry_strategy",
]

#: every family of jobs, registered in this order
REGISTRARS: list[Callable[[procrastinate.App, Settings], None]] = [
    maintenance.register,
    bulletin.register,
    alerts.register,
    ingest.register,
    refresh.register,
]


def register(app: procrastinate.App, settings: Settings) -> None:
    """Register every job of the platform on ``app``; they run with ``settings``."""
    for registrar in REGISTRARS:
        registrar(app, settings)
