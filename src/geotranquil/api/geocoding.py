"""Geocoding over HTTP: an address to a point, a point to its address and areas, and the
analysts' review of the addresses left "à géocoder" with their candidates (issue 17)."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from geotranquil.api.deps import ServicesDep, access
from geotranquil.roles import EVERYONE, RAW_EVENTS
from geotranquil.services.geocoding import geocode_batch, pick_candidate, reverse, review_queue

router = APIRouter(tags=["Géocodage"])


@router.get("/geocode", summary="Place a French address (BAN)", **access(EVERYONE))
def geocode(
    services: ServicesDep,
    q: str = Query(..., min_length=2, max_length=300, description="Free-text address"),
) -> JSONResponse:
    result = geocode_batch(services.engine, services.settings, [q])[0]
    if result is None:
        return JSONResponse({"query": q, "result": None, "message": "adresse introuvable"})
    return JSONResponse(jsonable_encoder({"query": q, "result": result}))


@router.get("/reverse", summary="Nearest address and areas of a point", **access(EVERYONE))
def reverse_geocode(
    services: ServicesDep,
    lon: float = Query(..., ge=-180, le=180),
    lat: float = Query(..., ge=-90, le=90),
) -> JSONResponse:
    return JSONResponse(jsonable_encoder(reverse(services.engine, lon, lat)))


@router.get(
    "/geocode/review",
    summary="Events left unplaced with their candidate placements, for an analyst",
    **access(RAW_EVENTS),
)
def geocode_review(services: ServicesDep, limit: int = Query(50, ge=1, le=500)) -> JSONResponse:
    return JSONResponse(jsonable_encoder({"events": review_queue(services.engine, limit)}))


@router.post(
    "/geocode/review/{event_id}/pick",
    summary="Place an unplaced event on the candidate an analyst chose (n from 1)",
    **access(RAW_EVENTS),
)
def geocode_pick(
    services: ServicesDep,
    event_id: int = Path(..., ge=1),
    n: int = Query(..., ge=1, le=10, description="Candidate number, from 1"),
) -> JSONResponse:
    chosen = pick_candidate(services.engine, services.settings, event_id, n)
    return JSONResponse(jsonable_encoder({"event_id": event_id, "placed": chosen}))
