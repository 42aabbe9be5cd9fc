"""Saved zones: named polygons kept in ``areas`` with kind ``zone``."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Connection, text

from geotranquil.errors import NotFound

_COLUMNS = (
    "id, code, name, description, round((area_m2 / 1e6)::numeric, 4)::float8 AS area_km2, "
    "created_at, created_by"
)


def create_zone(
    *,
    conn: Connection,
    name: str,
    description: str | None,
    wkt: str,
    area_m2: float,
    created_by: int | None,
) -> dict[str, Any]:
    """Store a zone (a valid EPSG:4326 MultiPolygon as WKT); its record."""
    row = conn.execute(
        text(
            "INSERT INTO areas (kind, code, name, description, area_m2, origin, geom, created_by) "
            "VALUES ('zone', :code, :name, :description, :area, 'saisie', "
            "ST_Multi(ST_GeomFromText(:wkt, 4326)), :by) "
            f"RETURNING {_COLUMNS}"
        ),
        {
            "code": uuid.uuid4().hex[:12],
            "name": name,
            "description": description,
            "area": area_m2,
            "wkt": wkt,
            "by": created_by,
        },
    ).one()
    return dict(row._mapping)


def list_zones(*, conn: Connection) -> list[dict[str, Any]]:
    """Every saved zone, newest first (no geometry)."""
    rows = conn.execute(
        text(f"SELECT {_COLUMNS} FROM areas WHERE kind = 'zone' ORDER BY id DESC")
    ).fetchall()
    return [dict(r._mapping) for r in rows]


def get_zone(*, conn: Connection, zone_id: int) -> dict[str, Any]:
    """A zone with its geometry as a GeoJSON mapping; NotFound if there is none."""
    row = conn.execute(
        text(
            f"SELECT {_COLUMNS}, ST_AsGeoJSON(geom, 7) AS geometry FROM areas "
            "WHERE kind = 'zone' AND id = :i"
        ),
        {"i": zone_id},
    ).first()
    if row is None:
        raise NotFound(f"zone enregistrée {zone_id} introuvable")
    out = dict(row._mapping)
    out["geometry"] = json.loads(out["geometry"])
    return out


def delete_zone(*, conn: Connection, zone_id: int) -> None:
    """Delete a zone; NotFound if there is none."""
    deleted = conn.execute(
        text("DELETE FROM areas WHERE kind = 'zone' AND id = :i RETURNING id"), {"i": zone_id}
    ).first()
    if deleted is None:
        raise NotFound(f"zone enregistrée {zone_id} introuvable")
