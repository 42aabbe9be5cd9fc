"""What a map client needs besides layers: the categories, the runs, one cell in detail."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from geotranquil.api.audit import record_request
from geotranquil.api.deps import CallerDep, ReaderDep, ServicesDep, access
from geotranquil.roles import AGGREGATES, EVERYONE, is_restricted
from geotranquil.services import audit, cells

router = APIRouter(tags=["Analyses"])


@router.get(
    "/categories",
    summary="Canonical categories with their family (restricted roles: public ones only)",
    **access(EVERYONE),
)
def categories(caller: CallerDep, reader: ReaderDep) -> JSONResponse:
    rows = cells.categories_for(engine=reader.engine, restricted=is_restricted(caller.role))
    return JSONResponse({"categories": rows})


@router.get("/runs", summary="Hot-spot and forecast runs, newest first", **access(AGGREGATES))
def runs(reader: ReaderDep) -> JSONResponse:
    return JSONResponse(jsonable_encoder(cells.runs(engine=reader.engine)))


@router.get(
    "/cells/{hex_id}",
    summary="One hexagon in detail: counts by category and time bin, run results, latest events",
    description="Parameters: datetime (as for items), categories (comma-separated codes), "
    "bin (day, week or month: the bins of ``series``; ``weekly`` is always by week), "
    "hotspot_run, emerging_run, forecast_run (default: the map's default runs), events_limit. "
    "Latest events only for the roles that may read raw events.",
    **access(AGGREGATES),
)
def cell(
    hex_id: str, request: Request, services: ServicesDep, caller: CallerDep, reader: ReaderDep
) -> JSONResponse:
    _, catalogue = reader.catalogue.get()
    doc = cells.cell_detail(
        engine=reader.engine,
        catalogue=catalogue,
        hex_id=hex_id,
        query=dict(request.query_params),
        role=caller.role,
        settings=services.settings,
    )
    if "latest_events" in doc:  # roles that read raw events get the cell's latest events
        record_request(request, services, caller, audit.READ_EVENTS, rows=len(doc["latest_events"]))
    return JSONResponse(jsonable_encoder(doc))
