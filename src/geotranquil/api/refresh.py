"""Freshness of the served layers (``GET /freshness``, everyone) and the manual refresh
(``POST /admin/refresh``, administrators)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from geotranquil.api.deps import ServicesDep, access
from geotranquil.roles import ADMINISTRATION, EVERYONE

router = APIRouter(tags=["analyses"])

#: freshness moves with every refresh: never cached
NO_STORE = {"Cache-Control": "no-store"}


@router.get(
    "/freshness",
    summary="How fresh each layer is: time of the data, default runs' time and data window",
    description="data_as_of is when events last changed (added, removed, moved or "
    "recategorised); events_version counts those changes. For each analysis layer (hotspots, "
    "emerging, clusters, forecast), run is the default run shown: its computation time, its "
    "data window (first and last day, inclusive), the events version it was computed from "
    "(when a refresh made it) and up_to_date (whether the events changed since). last_refresh "
    "is the last successful refresh of the analyses.",
    **access(EVERYONE),
)
def freshness(services: ServicesDep) -> JSONResponse:
    from geotranquil.services.freshness import freshness as compute

    return JSONResponse(compute(services.engine), headers=NO_STORE)


@router.post(
    "/admin/refresh",
    summary="Queue a full refresh of the analyses now",
    description="202 with the job's id (see GET /admin/jobs); 409 when a refresh already "
    "waits in the queue (it will see the current data).",
    status_code=202,
    **access(ADMINISTRATION),
)
def refresh_now(services: ServicesDep) -> JSONResponse:
    from geotranquil.jobs.refresh import queue_manual_refresh

    job_id = queue_manual_refresh(services.settings)
    return JSONResponse(
        {"job_id": job_id, "task": "refresh_analyses", "state": "todo"},
        status_code=202,
        headers={"Location": "/admin/jobs?task=refresh_analyses"},
    )
