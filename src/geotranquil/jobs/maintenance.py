"""Maintenance jobs: the retention purge, the coming months' partitions of the events (and the
compaction of their daily counts), and the periodic recovery of dead workers' jobs."""

from __future__ import annotations

from datetime import date

import procrastinate
from procrastinate import JobContext

from geotranquil.config import Settings
from geotranquil.jobs.common import JobActor, requeue_stalled, retry_strategy
from geotranquil.jobs.names import (
    EVENT_PARTITIONS,
    HOUSEKEEPING,
    MAINTENANCE,
    RETENTION_PURGE,
    RETRY_STALLED,
)
from geotranquil.services.database import compact_event_day_counts, prepare_event_partitions
from geotranquil.services.engine import open_engine
from geotranquil.services.retention import purge, today


def register(app: procrastinate.App, settings: Settings) -> None:
    """Register the maintenance jobs on ``app``; they run with ``settings``."""

    @app.periodic(cron=settings.retention_cron, periodic_id=RETENTION_PURGE)
    @app.task(
        name=RETENTION_PURGE,
        queue=MAINTENANCE,
        retry=retry_strategy(settings),
        lock=RETENTION_PURGE,
        queueing_lock=RETENTION_PURGE,
        pass_context=True,
    )
    def retention_purge(
        context: JobContext, timestamp: int | None = None, day: str | None = None
    ) -> int:
        """Clear what is past retention on ``day`` (the day it was queued; the local day of
        the schedule's run); rows cleared."""
        assert context.job is not None and context.job.id is not None
        report = purge(
            open_engine(settings),
            settings,
            day=date.fromisoformat(day) if day else today(settings),
            actor=JobActor(RETENTION_PURGE, context.job.id),
        )
        return report.total

    @app.periodic(cron=settings.event_partitions_cron, periodic_id=EVENT_PARTITIONS)
    @app.task(
        name=EVENT_PARTITIONS,
        queue=MAINTENANCE,
        retry=retry_strategy(settings),
        lock=EVENT_PARTITIONS,
        queueing_lock=EVENT_PARTITIONS,
    )
    def event_partitions(timestamp: int | None = None) -> int:
        """Create the missing partitions of ``events`` from this month to
        ``event_partitions_ahead_months`` ahead, and compact the events' daily counts (their
        delta rows merged, one per key); how many partitions were created."""
        engine = open_engine(settings)
        created = prepare_event_partitions(engine, settings.event_partitions_ahead_months)
        compact_event_day_counts(engine)
        return len(created)

    @app.periodic(cron=settings.jobs_stalled_check_cron, periodic_id=RETRY_STALLED)
    @app.task(
        name=RETRY_STALLED, queue=HOUSEKEEPING, queueing_lock=RETRY_STALLED, pass_context=True
    )
    async def retry_stalled_jobs(context: JobContext, timestamp: int) -> int:
        """Queue again the jobs of dead workers; how many. The checks that succeeded more
        than a day ago are deleted (one a minute would fill the list)."""
        requeued = await requeue_stalled(context.app, settings)
        await context.app.job_manager.delete_old_jobs(nb_hours=24, queue=HOUSEKEEPING)
        return len(requeued)
