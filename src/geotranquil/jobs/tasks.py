"""The jobs a worker runs, registered on the app built from the settings.

Each job is idempotent and commits its effects in one transaction (DESIGN.md §10): a worker
killed in the middle leaves nothing, and the job queued again does all of it once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import procrastinate
from procrastinate import JobContext, RetryStrategy

from geotranquil.config import Settings
from geotranquil.services.engine import open_engine
from geotranquil.services.retention import purge, today

log = logging.getLogger(__name__)

#: the retention purge of one local day (``services.retention.purge``)
RETENTION_PURGE = "retention_purge"
#: the periodic check that queues again the jobs of dead workers
RETRY_STALLED = "retry_stalled_jobs"
#: the queue of maintenance jobs
MAINTENANCE = "maintenance"
#: the queue of the queue's own upkeep (its finished jobs are deleted after a day)
HOUSEKEEPING = "housekeeping"


@dataclass(frozen=True)
class JobActor:
    """A job run by a worker, as the audit trail records it (``job:<task>:<id>``)."""

    task: str
    job_id: int
    role: str = "job"

    @property
    def who(self) -> str:
        return f"job:{self.task}:{self.job_id}"


def retry_strategy(settings: Settings) -> RetryStrategy | bool:
    """``jobs_max_attempts`` attempts, waiting ``jobs_backoff_s`` ** n seconds before the n-th
    retry (5, 25, 125 s… with the defaults); False for a single attempt (procrastinate reads
    ``max_attempts=0`` as "retry forever")."""
    if settings.jobs_max_attempts == 1:
        return False
    return RetryStrategy(
        max_attempts=settings.jobs_max_attempts - 1, exponential_wait=settings.jobs_backoff_s
    )


async def requeue_stalled(app: procrastinate.App, settings: Settings) -> list[int]:
    """Queue again the running jobs of workers silent for ``jobs_stalled_after_s``; their ids.

    This is procrastinate's documented recovery of stalled jobs (worker heartbeats).
    """
    stalled = await app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.jobs_stalled_after_s
    )
    ids = []
    for job in stalled:
        await app.job_manager.retry_job(job)
        assert job.id is not None
        log.warning("job %s (%s) of a dead worker queued again", job.id, job.task_name)
        ids.append(job.id)
    return ids


def register(app: procrastinate.App, settings: Settings) -> None:
    """Register every job of the platform on ``app``; they run with ``settings``."""

    @app.task(
        name=RETENTION_PURGE,
        queue=MAINTENANCE,
        retry=retry_strategy(settings),
        lock=RETENTION_PURGE,
        queueing_lock=RETENTION_PURGE,
        pass_context=True,
    )
    def retention_purge(context: JobContext, day: str | None = None) -> int:
        """Clear what is past retention on ``day`` (the day it was queued); rows cleared."""
        assert context.job is not None and context.job.id is not None
        report = purge(
            open_engine(settings),
            settings,
            day=date.fromisoformat(day) if day else today(settings),
            actor=JobActor(RETENTION_PURGE, context.job.id),
        )
        return report.total

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
