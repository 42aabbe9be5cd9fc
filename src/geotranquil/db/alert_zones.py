"""What an alert rule reads about its zone: the area, its cells, the latest runs, weekly counts,
and the shapes of its e-mail's map."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

#: a grid cell belongs to a quartier / arrondissement by its own columns (one area each, so a
#: cell on a boundary never alerts two neighbours); a saved zone takes the cells it meets
_ZONE_CELLS = (
    "SELECT g.h3 FROM grid_cells g WHERE g.resolution = :res AND ("
    "(CAST(:kind AS text) = 'commune') "
    "OR (CAST(:kind AS text) = 'quartier' AND g.quartier_code = :code) "
    "OR (CAST(:kind AS text) = 'arrondissement' AND g.arrondissement_code = :code) "
    "OR (CAST(:kind AS text) = 'zone' AND EXISTS (SELECT 1 FROM areas a WHERE a.kind = 'zone' "
    "AND a.code = :code AND ST_Intersects(a.geom, g.geom))))"
)
#: a run made on exactly the rule's categories (none: all categories)
_SAME_CATEGORIES = (
    "((categories IS NULL OR categories = '{}') AND cardinality(CAST(:cats AS text[])) = 0 "
    "OR categories @> CAST(:cats AS text[]) AND categories <@ CAST(:cats AS text[]) "
    "AND cardinality(CAST(:cats AS text[])) > 0)"
)


def find_area(*, conn: Connection, kind: str, code: str | None) -> dict[str, Any] | None:
    """An area by kind and code (the commune needs no code; a saved zone may be named by its
    id); its id, kind, code and name, or None."""
    row = conn.execute(
        text(
            "SELECT id, kind, code, name FROM areas WHERE kind = :k AND (:k = 'commune' "
            "OR code = :c OR (:k = 'zone' AND CAST(id AS text) = :c)) ORDER BY id LIMIT 1"
        ),
        {"k": kind, "c": code or ""},
    ).first()
    return dict(row._mapping) if row else None


def zone_cells(*, conn: Connection, kind: str, code: str, resolution: int) -> list[int]:
    """The grid cells of a zone at ``resolution``."""
    rows = conn.execute(text(_ZONE_CELLS), {"res": resolution, "kind": kind, "code": code})
    return [int(r[0]) for r in rows]


def latest_emerging_run(*, conn: Connection, categories: Sequence[str]) -> dict[str, Any] | None:
    """The newest emerging hot-spot run made on exactly ``categories`` (empty: all)."""
    row = conn.execute(
        text(
            "SELECT id, resolution, period_start, period_end, bin, created_at FROM hotspot_runs "
            f"WHERE kind = 'emerging' AND {_SAME_CATEGORIES} "
            "ORDER BY (value = 'counts') DESC, created_at DESC, id DESC LIMIT 1"
        ),
        {"cats": list(categories)},
    ).first()
    return dict(row._mapping) if row else None


def run_patterns(*, conn: Connection, run_id: int, patterns: Sequence[str]) -> dict[int, str]:
    """The cells of a run with one of ``patterns``: h3 -> pattern."""
    rows = conn.execute(
        text(
            "SELECT h3, pattern FROM hotspot_cells WHERE run_id = :r "
            "AND pattern = ANY(CAST(:p AS text[]))"
        ),
        {"r": run_id, "p": list(patterns)},
    )
    return {int(h): str(p) for h, p in rows}


def latest_forecast_run(*, conn: Connection, categories: Sequence[str]) -> dict[str, Any] | None:
    """The newest forecast made on exactly ``categories`` (empty: all)."""
    row = conn.execute(
        text(
            "SELECT id, method, resolution, origin, period_days, created_at FROM forecast_runs "
            f"WHERE {_SAME_CATEGORIES} ORDER BY created_at DESC, id DESC LIMIT 1"
        ),
        {"cats": list(categories)},
    ).first()
    return dict(row._mapping) if row else None


def top_forecast_cells(
    *, conn: Connection, run_id: int, kind: str, code: str, resolution: int
) -> list[dict[str, Any]]:
    """The zone's cells a forecast ranks in the city's top 1 %, with their expected events."""
    rows = conn.execute(
        text(
            "SELECT f.h3, f.expected, f.rank FROM forecast_cells f "
            f"WHERE f.run_id = :r AND f.top_class = 1 AND f.h3 IN ({_ZONE_CELLS}) "
            "ORDER BY f.rank"
        ),
        {"r": run_id, "res": resolution, "kind": kind, "code": code},
    )
    return [dict(r._mapping) for r in rows]


def last_event_day(*, conn: Connection, timezone: str) -> date | None:
    """The local day of the latest event (the week it falls in is the one tested)."""
    day: date | None = conn.execute(
        text("SELECT max(occurred_at AT TIME ZONE :tz)::date FROM events"), {"tz": timezone}
    ).scalar()
    return day


def weekly_counts(
    *,
    conn: Connection,
    area_id: int,
    categories: Sequence[str],
    first_monday: date,
    weeks: int,
    timezone: str,
) -> list[int]:
    """Events located in an area per local week (Monday to Sunday) from ``first_monday``,
    ``weeks`` of them, oldest first (zeros included)."""
    rows = conn.execute(
        text(
            "SELECT ((e.occurred_at AT TIME ZONE :tz)::date - CAST(:m AS date)) / 7 AS w, "
            "count(*) FROM events e JOIN areas a ON a.id = :a AND ST_Covers(a.geom, e.geom) "
            "WHERE e.occurred_at >= (CAST(:m AS date) AT TIME ZONE :tz) "
            "AND e.occurred_at < ((CAST(:m AS date) + 7 * :n) AT TIME ZONE :tz) "
            "AND (cardinality(CAST(:cats AS text[])) = 0 "
            "OR e.category = ANY(CAST(:cats AS text[]))) GROUP BY 1"
        ),
        {"tz": timezone, "m": first_monday, "a": area_id, "n": weeks, "cats": list(categories)},
    )
    counts = [0] * weeks
    for w, n in rows:
        counts[int(w)] = int(n)
    return counts


def busiest_cells(
    *,
    conn: Connection,
    area_id: int,
    categories: Sequence[str],
    monday: date,
    timezone: str,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """The area's resolution-9 cells with the most events in the week of ``monday``."""
    rows = conn.execute(
        text(
            "SELECT e.h3_r9 AS h3, count(*) AS events FROM events e "
            "JOIN areas a ON a.id = :a AND ST_Covers(a.geom, e.geom) "
            "WHERE e.occurred_at >= (CAST(:m AS date) AT TIME ZONE :tz) "
            "AND e.occurred_at < ((CAST(:m AS date) + 7) AT TIME ZONE :tz) "
            "AND (cardinality(CAST(:cats AS text[])) = 0 "
            "OR e.category = ANY(CAST(:cats AS text[]))) "
            "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT :n"
        ),
        {"a": area_id, "m": monday, "tz": timezone, "cats": list(categories), "n": limit},
    )
    return [{"h3": int(r.h3), "events": int(r.events)} for r in rows]


def map_shapes(
    *, conn: Connection, kind: str, code: str, cells: Sequence[int]
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The zone's outline and the cells' hexagons as GeoJSON geometries (EPSG:4326)."""
    outline = conn.execute(
        text(
            "SELECT ST_AsGeoJSON(geom, 6) FROM areas WHERE kind = :k "
            "AND (:k = 'commune' OR code = :c) ORDER BY id LIMIT 1"
        ),
        {"k": kind, "c": code},
    ).scalar()
    rows = conn.execute(
        text("SELECT ST_AsGeoJSON(geom, 6) FROM grid_cells WHERE h3 = ANY(CAST(:h AS bigint[]))"),
        {"h": list(cells)},
    )
    return (json.loads(outline) if outline else None), [json.loads(r[0]) for r in rows]
