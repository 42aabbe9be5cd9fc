"""What the database holds: for the CLI's status command and the health endpoint."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from geotranquil.config import Settings
from geotranquil.db.admin import current_revision
from geotranquil.db.areas import count_areas
from geotranquil.db.batches import latest_batches
from geotranquil.db.engine import make_engine
from geotranquil.db.grid import count_cells


def status_of(conn: Connection) -> dict[str, Any]:
    """Revision, areas, grid cells, events per source, the BAN and geocoding outcomes."""
    sources = [
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
    ban = conn.execute(
        text(
            "SELECT (SELECT count(*) FROM ban_addresses), "
            "(SELECT max(id) FROM ban_releases WHERE rows_read > 0), "
            "(SELECT count(*) FILTER (WHERE status = 'placed') FROM event_geocoding), "
            "(SELECT count(*) FILTER (WHERE status = 'unplaced') FROM event_geocoding)"
        )
    ).one()
    return {
        "revision": current_revision(conn),
        "ban": {
            "addresses": ban[0],
            "release": ban[1],
            "geocoded": ban[2],
            "unplaced": ban[3],
        },
        "areas": count_areas(conn=conn),
        "grid": count_cells(conn=conn),
        "sources": sources,
        "batches": latest_batches(conn=conn),
    }


def database_status(settings: Settings) -> dict[str, Any]:
    """:func:`status_of` on a fresh connection."""
    with make_engine(settings).connect() as conn:
        return status_of(conn)
