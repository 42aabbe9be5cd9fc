"""Planners' polygon reports and saved zones."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from geotranquil.api.deps import CallerDep, ReaderDep, ServicesDep, access
from geotranquil.errors import InvalidInput
from geotranquil.features.crs import parse_crs
from geotranquil.roles import AGGREGATES
from geotranquil.services import zones
from geotranquil.services.reports import ReportRequest, polygon_report

router = APIRouter(tags=["Rapports et zones"])
POLYGON_SRIDS = (4326, 2154)


def _crs_field() -> Any:
    return Field(
        "EPSG:4326",
        max_length=100,
        description="CRS of the geometry: EPSG:4326 (lon, lat) or EPSG:2154 (Lambert-93)",
    )


class AreaRef(BaseModel):
    """An administrative area by kind and code."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["commune", "arrondissement", "quartier"]
    code: str = Field(max_length=50)


class ReportBody(BaseModel):
    """A report request: exactly one of ``geometry``, ``area``, ``zone_id``."""

    model_config = ConfigDict(extra="forbid")
    geometry: dict[str, Any] | None = Field(
        None, description="GeoJSON Polygon or MultiPolygon (or a Feature holding one)"
    )
    crs: str = _crs_field()
    area: AreaRef | None = None
    zone_id: int | None = None
    start: date | None = Field(
        None, description="First day (local); default: 52 weeks before the end"
    )
    end: date | None = Field(
        None, description="Last day, included; default: the Sunday ending the last data week"
    )
    categories: list[str] | None = Field(None, description="Category codes; default: all")
    bin: str = Field(
        "week",
        max_length=10,
        description="Bins of ``series``: day, week or month (``weekly`` is always by week)",
    )


class ZoneBody(BaseModel):
    """A zone to save."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    geometry: dict[str, Any]
    crs: str = _crs_field()


def _srid(crs: str) -> int:
    """EPSG:4326 or Lambert-93; any other value is refused without being echoed."""
    try:
        srid = parse_crs(crs).srid
    except InvalidInput:
        srid = 0
    if srid not in POLYGON_SRIDS:
        raise InvalidInput(
            "crs : système de coordonnées non pris en charge ; EPSG:4326 (longitude, latitude) "
            "ou EPSG:2154 (Lambert-93)"
        )
    return srid


@router.post("/reports", summary="Polygon report for planners", **access(AGGREGATES))
def report(
    body: ReportBody,
    services: ServicesDep,
    reader: ReaderDep,
    f: Literal["json", "csv"] = Query("json", description="json, or csv for the figures"),
) -> Response:
    request = ReportRequest(
        geometry=body.geometry,
        srid=_srid(body.crs),
        area_kind=body.area.kind if body.area else None,
        area_code=body.area.code if body.area else None,
        zone_id=body.zone_id,
        start=body.start,
        end=body.end,
        categories=tuple(body.categories) if body.categories else None,
        bin=body.bin,
    )
    # a saved zone is the caller's own write: read on the primary, where it surely is already
    engine = services.engine if body.zone_id is not None else reader.engine
    doc = polygon_report(engine=engine, request=request, settings=services.settings)
    if f == "csv":
        return Response(
            _report_csv(doc),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="rapport.csv"'},
        )
    return JSONResponse(jsonable_encoder(doc))


def _report_csv(doc: dict[str, Any]) -> str:
    buf = io.StringIO()
    columns = [
        "category",
        "label",
        "n",
        "n_previous",
        "change",
        "change_pct",
        "rate_per_1000",
        "city_rate_per_1000",
        "ratio_to_city",
        "share_of_city",
    ]
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for line in doc["by_category"]:
        writer.writerow(line)
    writer.writerow({"category": "total", "label": "Total", **doc["totals"]})
    return buf.getvalue()


@router.post("/zones", summary="Save a named zone", status_code=201, **access(AGGREGATES))
def create_zone(body: ZoneBody, services: ServicesDep, caller: CallerDep) -> JSONResponse:
    zone = zones.save_zone(
        engine=services.engine,
        settings=services.settings,
        name=body.name,
        description=body.description,
        geometry=body.geometry,
        srid=_srid(body.crs),
        created_by=caller.key_id,
    )
    return JSONResponse(jsonable_encoder(zone), status_code=201)


@router.get("/zones", summary="Saved zones", **access(AGGREGATES))
def list_zones(services: ServicesDep) -> JSONResponse:
    return JSONResponse(jsonable_encoder({"zones": zones.list_zones(engine=services.engine)}))


@router.get("/zones/{zone_id}", summary="One saved zone", **access(AGGREGATES))
def get_zone(zone_id: int, services: ServicesDep) -> JSONResponse:
    return JSONResponse(jsonable_encoder(zones.get_zone(engine=services.engine, zone_id=zone_id)))


@router.delete(
    "/zones/{zone_id}",
    summary="Delete a saved zone",
    status_code=204,
    response_class=Response,
    **access(AGGREGATES),
)
def delete_zone(zone_id: int, services: ServicesDep) -> Response:
    zones.delete_zone(engine=services.engine, zone_id=zone_id)
    return Response(status_code=204)
