"""Durable jobs (issue 16 §2): a procrastinate queue in the application's PostgreSQL database.

:func:`build_app` makes the queue from the settings and registers every job
(:mod:`geotranquil.jobs.tasks`); ``geotranquil worker`` runs them (:func:`run_worker`), and
:func:`enqueue` queues one by name. This package sits above the services: jobs call services,
the CLI and the API call jobs, never the reverse.
"""

from geotranquil.jobs.app import AlreadyQueued, build_app, enqueue
from geotranquil.jobs.names import (
    BUILD_BULLETIN,
    EVENT_PARTITIONS,
    INGEST_BATCH,
    REFRESH_ANALYSES,
    REFRESH_CHECK,
    RETENTION_PURGE,
    RETRY_STALLED,
    SEND_ALERTS,
)
from geotranquil.jobs.refresh import request_refresh
from geotranquil.jobs.worker import run_worker

__all__ = [
    "BUILD_BULLETIN",
    "EVENT_PARTITIONS",
    "INGEST_BATCH",
    "REFRESH_ANALYSES",
    "REFRESH_CHECK",
    "RETENTION_PURGE",
    "RETRY_STALLED",
    "SEND_ALERTS",
    "AlreadyQueued",
    "build_app",
    "enqueue",
    "request_refresh",
    "run_worker",
]
