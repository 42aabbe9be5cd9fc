"""What the database holds, in counts: events per source, the BAN and geocoding outcomes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

#: the sums of the kept daily counts (``event_day_counts``), not a scan of the events: a few
#: hundred thousand rows at most, where the events may be tens of millions
PER_SOURCE = """
SELECT s.slug,
       coalesce(sum(c.n), 0)::bigint AS events,
       coalesce(sum(c.n) FILTER (WHERE c.located), 0)::bigint AS located,
       coalesce(sum(c.n) FILTER (WHERE NOT c.located), 0)::bigint AS unlocated
FROM sources s LEFT JOIN event_day_counts c ON c.source_id = s.id
GROUP BY s.slug ORDER BY s.slug
"""


def events_per_source(*, conn: Connection) -> list[dict[str, Any]]:
    """Per source slug: its events, those located and those not (from the kept counts)."""
    return [dict(r._mapping) for r in conn.execute(text(PER_SOURCE))]


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
