"""The job queue as staff see it: recent jobs with their state and attempts (CLI, admin API).

Running and queueing jobs is ``geotranquil.jobs`` (procrastinate, above the services); this
module only reads the queue's tables.
"""

from __future__ import annotations

from sqlalchemy import Engine

from geotranquil.db import jobs as db
from geotranquil.db.jobs import STATES, JobRow
from geotranquil.errors import InvalidInput

__all__ = ["STATES", "JobRow", "recent_jobs"]

#: the most jobs one listing returns
LIMIT_MAX = 1000


def recent_jobs(
    engine: Engine, *, state: str | None = None, task: str | None = None, limit: int = 50
) -> list[JobRow]:
    """The latest ``limit`` jobs, newest first, of one ``state`` and one ``task`` when given."""
    if state is not None and state not in STATES:
        raise InvalidInput(f"état « {state[:20]} » inconnu ; attendu : {', '.join(STATES)}")
    if task is not None and ("\x00" in task or len(task) > 128):
        raise InvalidInput("tâche : caractère nul ou plus de 128 caractères")
    if not 1 <= limit <= LIMIT_MAX:
        raise InvalidInput(f"limite {limit} : entre 1 et {LIMIT_MAX}")
    with engine.connect() as conn:
        return db.recent_jobs(conn=conn, state=state, task=task, limit=limit)
