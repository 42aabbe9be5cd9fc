"""What every job shares: the actor it records in the audit trail, its retry strategy, and
the recovery of the jobs of dead workers."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import procrastinate
from procrastinate import RetryStrategy
from procrastinate.exceptions import ConnectorException, UniqueViolation
from procrastinate.jobs import Status

from geotranquil.config import Settings

log = logging.getLogger(__name__)


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
        assert job.id is not None
        try:
            await app.job_manager.retry_job(job)
        except UniqueViolation:
            # the same job already waits (its queueing lock is taken: requested again while
            # this one ran): it does the work. This one is closed as failed, which also frees
            # its lock; queued again, it would break the queueing lock, and left running it
            # would hold the lock the waiting job needs, for ever.
            await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
            log.warning(
                "job %s (%s) of a dead worker closed as failed: the same job already waits",
                job.id,
                job.task_name,
            )
            continue
        except ConnectorException as exc:  # another worker recovered it first
            log.info(
                "job %s (%s) of a dead worker already taken care of: %s", job.id, job.task_name, exc
            )
            continue
        log.warning("job %s (%s) of a dead worker queued again", job.id, job.task_name)
        ids.append(job.id)
    return ids
