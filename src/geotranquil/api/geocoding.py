"""Geocoding over HTTP: an address to a point, a point to its address and areas."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from geotranquil.api.deps import ServicesDep, access
from geotranquil.roles import EVERYONE
from geotranquil.services.geocoding import geocode_batch, reverse

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
