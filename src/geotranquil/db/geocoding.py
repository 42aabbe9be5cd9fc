"""Address-only events waiting for a position, their placement, and reverse lookups."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, text

from geotranquil.db.copy import copy_frame

PLACE_COLUMNS = [
    "event_id",
    "lon",
    "lat",
    "h3_fine",
    "h3_r7",
    "h3_r8",
    "h3_r9",
    "h3_r10",
    "precision",
]


def events_to_place(
    *, conn: Connection, batch_id: int | None = None, retry: bool = False
) -> pd.DataFrame:
    """Events with an address and no position: never tried, or (``retry``) not placed yet."""
    rows = conn.execute(
        text(
            "SELECT e.id AS event_id, e.address FROM events e "
            "LEFT JOIN event_geocoding g ON g.event_id = e.id "
            "WHERE e.geom IS NULL AND e.address IS NOT NULL "
            "AND (CAST(:batch AS integer) IS NULL OR e.batch_id = :batch) "
            "AND (g.event_id IS NULL OR (:retry AND g.status = 'unplaced')) "
            "ORDER BY e.id"
        ),
        {"batch": batch_id, "retry": retry},
    ).all()
    return pd.DataFrame(rows, columns=["event_id", "address"])


def place_events(*, conn: Connection, placed: pd.DataFrame, buffer_m: float = 0.0) -> list[int]:
    """Give events their position and cells (``PLACE_COLUMNS``); return the ids placed.

    Points outside the study area (the commune, with ``buffer_m``) are left unplaced.
    """
    if placed.empty:
        return []
    conn.execute(
        text(
            "CREATE TEMP TABLE place_stage (event_id bigint, lon float8, lat float8, "
            "h3_fine bigint, h3_r7 bigint, h3_r8 bigint, h3_r9 bigint, h3_r10 bigint, "
            "precision text) ON COMMIT DROP"
        )
    )
    copy_frame(conn, "place_stage", placed, PLACE_COLUMNS)
    ids = conn.execute(
        text(
            "UPDATE events e SET geom = ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326), "
            "h3_fine = s.h3_fine, h3_r7 = s.h3_r7, h3_r8 = s.h3_r8, h3_r9 = s.h3_r9, "
            "h3_r10 = s.h3_r10, location_precision = s.precision, updated_at = now() "
            "FROM place_stage s WHERE e.id = s.event_id AND e.geom IS NULL "
            "AND (NOT EXISTS (SELECT 1 FROM areas WHERE kind = 'commune') OR EXISTS ("
            "SELECT 1 FROM areas a WHERE a.kind = 'commune' AND ST_DWithin("
            "a.geom::geography, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)::geography, :buf)))"
            " RETURNING e.id"
        ),
        {"buf": buffer_m},
    ).scalars()
    return [int(i) for i in ids]


def record_geocoding(*, conn: Connection, rows: pd.DataFrame) -> None:
    """Keep how each event was geocoded (one row per event, replaced on a retry)."""
    if rows.empty:
        return
    columns = [
        "event_id",
        "query",
        "status",
        "score",
        "precision",
        "matched",
        "interpolated",
        "reason",
        "geocoder",
        "ban_release_id",
    ]
    if "candidates" in rows.columns:  # JSON text (or None), cast by COPY into jsonb
        columns.append("candidates")
    conn.execute(
        text(
            "CREATE TEMP TABLE geocoding_stage (LIKE event_geocoding INCLUDING DEFAULTS) "
            "ON COMMIT DROP"
        )
    )
    copy_frame(conn, "geocoding_stage", rows, columns)
    cols = ", ".join(columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[1:])
    conn.execute(
        text(
            f"INSERT INTO event_geocoding ({cols}) SELECT {cols} FROM geocoding_stage "
            f"ON CONFLICT (event_id) DO UPDATE SET {updates}, geocoded_at = now()"
        )
    )


def review_queue(*, conn: Connection, limit: int = 50) -> pd.DataFrame:
    """Unplaced events that have candidates for an analyst, oldest geocoding first."""
    rows = conn.execute(
        text(
            "SELECT g.event_id, g.query, g.score, g.reason, g.candidates FROM event_geocoding g "
            "JOIN events e ON e.id = g.event_id "
            "WHERE g.status = 'unplaced' AND e.geom IS NULL "
            "AND jsonb_array_length(COALESCE(g.candidates, '[]'::jsonb)) > 0 "
            "ORDER BY g.geocoded_at, g.event_id LIMIT :limit"
        ),
        {"limit": limit},
    ).all()
    return pd.DataFrame(rows, columns=["event_id", "query", "score", "reason", "candidates"])


def event_candidates(*, conn: Connection, event_id: int) -> tuple[str, list[Any]] | None:
    """``(status, candidates)`` of an event's geocoding record, or None when it has none."""
    row = conn.execute(
        text("SELECT status, candidates FROM event_geocoding WHERE event_id = :id"),
        {"id": event_id},
    ).one_or_none()
    return None if row is None else (str(row.status), list(row.candidates or []))


def mark_picked(*, conn: Connection, event_id: int, candidate: dict[str, Any], n: int) -> None:
    """The event's geocoding record after an analyst picked its candidate ``n`` (from 1)."""
    conn.execute(
        text(
            "UPDATE event_geocoding SET status = 'placed', score = :score, "
            "precision = :precision, matched = :label, interpolated = :interpolated, "
            "reason = :reason, geocoded_at = now() WHERE event_id = :id"
        ),
        {
            "id": event_id,
            "score": candidate.get("score"),
            "precision": candidate.get("precision"),
            "label": candidate.get("label"),
            "interpolated": bool(candidate.get("interpolated", False)),
            "reason": f"candidat {n} choisi par un analyste",
        },
    )


def nearest_address(*, conn: Connection, lon: float, lat: float) -> dict[str, Any] | None:
    """The BAN address nearest to a point (house numbers first), with its distance in metres."""
    row = conn.execute(
        text(
            "SELECT id, numero, rep, nom_voie, code_postal, nom_commune, lon, lat, "
            "ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) "
            "AS distance_m FROM ban_addresses WHERE numero <> 99999 "
            "ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) LIMIT 1"
        ),
        {"lon": lon, "lat": lat},
    ).first()
    return dict(row._mapping) if row else None


def areas_at(*, conn: Connection, lon: float, lat: float) -> dict[str, dict[str, str]]:
    """The commune, arrondissement and quartier that contain a point, by kind."""
    rows = conn.execute(
        text(
            "SELECT kind, code, name FROM areas WHERE kind IN "
            "('commune', 'arrondissement', 'quartier') AND ST_Intersects(geom, "
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
        ),
        {"lon": lon, "lat": lat},
    ).all()
    return {r[0]: {"code": r[1], "name": r[2]} for r in rows}
