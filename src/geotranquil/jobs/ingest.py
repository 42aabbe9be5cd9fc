"""Ingestion jobs: a batch pushed by a partner (``POST /sources/{source}/batches``).

The batch's row and its job are stored in one transaction (:func:`defer_batch` runs on the
connection of that transaction). The job runs the pipeline on the spooled file
(:func:`geotranquil.services.push.run_batch`): killed mid-way, it runs again and resumes after
the last committed chunk. Once a batch stored something, the refresh of the analyses is queued
after ``refresh_debounce_s`` (one refresh for the batches landing meanwhile).
"""

from __future__ import annotations

import logging
from typing import Any

import procrastinate

from geotranquil.config import Settings
from geotranquil.jobs.common import retry_strategy
from geotranquil.jobs.names import INGEST, INGEST_BATCH
from geotranquil.jobs.refresh import defer_refresh
from geotranquil.services.push_run import run_batch

log = logging.getLogger(__name__)


def register(app: procrastinate.App, settings: Settings) -> None:
    """Register the ingestion jobs on ``app``; they run with ``settings``."""

    @app.task(name=INGEST_BATCH, queue=INGEST, retry=retry_strategy(settings), pass_context=True)
    def ingest_batch(context: procrastinate.JobContext, batch_id: int) -> str:
        """Ingest pushed batch ``batch_id``; its final state."""
        outcome = run_batch(settings, batch_id)
        if outcome.stored:
            queue_refresh(context.app, settings)
        return outcome.state


def queue_refresh(app: procrastinate.App, settings: Settings) -> bool:
    """Queue the debounced refresh of the analyses (``refresh_debounce_s`` from now), unless
    one is already waiting; whether one was queued."""
    return defer_refresh(app, "data", settings.refresh_debounce_s) is not None


def defer_batch(app: procrastinate.App, connection: Any, batch_id: int) -> int:
    """Queue the job of pushed batch ``batch_id`` on ``connection`` (a psycopg connection in
    the transaction that stores the batch: both commit or neither); the job's id."""
    return int(app.tasks[INGEST_BATCH].configure(connection=connection).defer(batch_id=batch_id))
