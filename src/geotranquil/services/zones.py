"""Saved zones: validated, measured and stored named polygons."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.db import zones
from geotranquil.errors import InvalidInput
from geotranquil.geography.polygons import area_km2, parse_polygon

MAX_NAME = 200
MAX_DESCRIPTION = 2000


def save_zone(
    *,
    engine: Engine,
    settings: Settings,
    name: str,
    description: str | None,
    geometry: dict[str, Any],
    srid: int,
    created_by: int | None,
) -> dict[str, Any]:
    """Check and store a zone; its record with its geometry."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"nom de zone obligatoire, {MAX_NAME} caractères au plus")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"description : {MAX_DESCRIPTION} caractères au plus")
    shape = parse_polygon(
        geometry,
        srid=srid,
        max_vertices=settings.report_max_vertices,
        max_area_km2=settings.report_max_area_km2,
    )
    with engine.begin() as conn:
        record = zones.create_zone(
            conn=conn,
            name=name,
            description=description,
            wkt=shape.wkt,
            area_m2=area_km2(shape) * 1e6,
            created_by=created_by,
        )
        return zones.get_zone(conn=conn, zone_id=record["id"])


def list_zones(*, engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return zones.list_zones(conn=conn)


def get_zone(*, engine: Engine, zone_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return zones.get_zone(conn=conn, zone_id=zone_id)


def delete_zone(*, engine: Engine, zone_id: int) -> None:
    with engine.begin() as conn:
        zones.delete_zone(conn=conn, zone_id=zone_id)
