"""What the database holds, in counts: events per source, the BAN and geocoding outcomes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text


def events_per_source(*, conn: Connection) -> list[dict[str, Any]]:
    """Per source slug: its events, those located and those not."""
    return [
        dict(r._mapping)
        for r in conn.execute(
            text(
                "SELECT s.slug, count(e.id) AS events, count(e.geom) AS located, "
                "count(e.id) - count(e.geom) AS unlocated "
                "FROM sources s LEFT JOIN events e ON e.source_id = s.id "
                "GROUP BY s.slug ORDER BY s.slug"
            )
        )
    ]


def ban_status(*, conn: Connection) -> dict[str, Any]:
    """Addresses stored, the latest finished release, events geocoded and left unplaced."""
    row = conn.execute(
        text(
            "SELECT (SELECT count(*) FROM ban_addresses), "
            "(SELECT max(id) FROM ban_releases WHERE rows_read > 0), "
            "(SELECT count(*) FILTER (WHERE status = 'placed') FROM event_geocoding), "
            "(SELECT count(*) FILTER (WHERE status = 'unplaced') FROM event_geocoding)"
        )
    ).one()
    return {"addresses": row[0], "release": row[1], "geocoded": row[2], "unplaced": row[3]}
