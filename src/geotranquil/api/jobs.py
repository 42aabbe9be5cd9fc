"""``GET /admin/jobs``: the job queue for administrators (state, attempts, times)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from geotranquil.api.deps import ServicesDep, access
from geotranquil.roles import ADMINISTRATION
from geotranquil.services import jobs

router = APIRouter(tags=["administration"])


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@router.get(
    "/admin/jobs",
    summary="Recent background jobs: task, state, attempts, times",
    description="Newest first. Filters: state ("
    + ", ".join(jobs.STATES)
    + "), task (e.g. retention_purge), limit (1 to 1000, 50 by default). attempts counts the "
    "runs started; scheduled_at is when a queued job (a retry after its backoff) may start.",
    **access(ADMINISTRATION),
)
def job_list(
    services: ServicesDep,
    state: str | None = None,
    task: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=jobs.LIMIT_MAX)] = 50,
) -> JSONResponse:
    rows = jobs.recent_jobs(services.engine, state=state, task=task, limit=limit)
    return JSONResponse(
        {
            "limit": limit,
            "items": [
                {
                    "id": r.id,
                    "task": r.task,
                    "queue": r.queue,
                    "state": r.state,
                    "attempts": r.attempts_made,
                    "args": r.args,
                    "queued_at": _instant(r.queued_at),
                    "started_at": _instant(r.started_at),
                    "finished_at": _instant(r.finished_at),
                    "scheduled_at": _instant(r.scheduled_at),
                }
                for r in rows
            ],
        }
    )
