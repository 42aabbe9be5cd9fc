"""The job queue's tables, as this project sees them: procrastinate owns them (migration 0016
installs its schema), we only read them and keep them out of the models' drift comparison."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from geoalchemy2 import alembic_helpers
from sqlalchemy import Connection, text

from geotranquil.db.partitions import is_partition_name

#: every table, type, function and index of the queue starts with it
PREFIX = "procrastinate_"

#: the states of a job, as procrastinate stores them (``procrastinate_job_status``)
STATES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborting", "aborted")


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's filter: GeoAlchemy2's, with the queue's tables and the monthly partitions of
    ``events`` left out (not in our models)."""
    if (
        type_ == "table"
        and name is not None
        and (name.startswith(PREFIX) or is_partition_name(name))
    ):
        return False
    table = getattr(obj, "table", None)
    table_name = str(getattr(table, "name", "")) if table is not None else ""
    if table_name.startswith(PREFIX) or is_partition_name(table_name):
        return False
    return bool(alembic_helpers.include_object(obj, name, type_, reflected, compare_to))


@dataclass(frozen=True)
class JobRow:
    """One job of the queue: its task, arguments, state, attempts and times."""

    id: int
    task: str
    queue: str
    state: str
    attempts: int
    args: dict[str, Any]
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    scheduled_at: datetime | None

    @property
    def attempts_made(self) -> int:
        """Runs started so far: procrastinate's ``attempts`` counts the runs that ended (failed
        and queued again, or finished), plus the one running now."""
        return self.attempts + (1 if self.state == "doing" else 0)


_RECENT = text(
    """
    SELECT j.id, j.task_name, j.queue_name, j.status::text AS state, j.attempts, j.args,
           j.scheduled_at,
           (SELECT min(e.at) FROM procrastinate_events e
             WHERE e.job_id = j.id AND e.type = 'deferred') AS queued_at,
           (SELECT max(e.at) FROM procrastinate_events e
             WHERE e.job_id = j.id AND e.type = 'started') AS started_at,
           (SELECT max(e.at) FROM procrastinate_events e
             WHERE e.job_id = j.id
               AND e.type IN ('succeeded', 'failed', 'cancelled', 'aborted')) AS finished_at
      FROM procrastinate_jobs j
     WHERE (CAST(:state AS text) IS NULL OR j.status::text = :state)
       AND (CAST(:task AS text) IS NULL OR j.task_name = :task)
     ORDER BY j.id DESC
     LIMIT :limit
    """
)


def recent_jobs(
    *, conn: Connection, state: str | None, task: str | None, limit: int
) -> list[JobRow]:
    """The latest ``limit`` jobs (newest first), of one state and one task when given."""
    rows = conn.execute(_RECENT, {"state": state, "task": task, "limit": limit}).mappings()
    return [
        JobRow(
            id=r["id"],
            task=r["task_name"],
            queue=r["queue_name"],
            state=r["state"],
            attempts=r["attempts"],
            args=dict(r["args"] or {}),
            queued_at=r["queued_at"],
            started_at=r["started_at"],
            finished_at=r["finished_at"],
            scheduled_at=r["scheduled_at"],
        )
        for r in rows
    ]
