"""The events' counts by UTC day, source, category and location (``event_day_counts``,
migrations 0027 and 0029).

Triggers on ``events`` insert DELTA rows (+n, −n) per statement; the count of a key (day,
source, category, located) is the sum of its rows. :func:`compact_day_counts` merges them into
one row per key, in one statement: the rows inserted meanwhile by concurrent writers are not
seen by its DELETE's snapshot and stay, so the sums are exact at every moment.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, text

COMPACT = """
WITH d AS (DELETE FROM event_day_counts RETURNING day, source_id, category, located, n),
merged AS (
    INSERT INTO event_day_counts (day, source_id, category, located, n)
    SELECT day, source_id, category, located, sum(n) FROM d
    GROUP BY day, source_id, category, located HAVING sum(n) <> 0
    RETURNING 1
)
SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM merged)
"""

#: the exact counts, from the deltas
SUMS = """
SELECT day, source_id, category, located, sum(n)::bigint AS n FROM event_day_counts
GROUP BY day, source_id, category, located HAVING sum(n) <> 0
ORDER BY day, source_id, category, located
"""

#: the same counts, from the events themselves (a full scan: for checks, not for reports)
FROM_EVENTS = """
SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, source_id, category,
       geom IS NOT NULL AS located, count(*) AS n
FROM events GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
"""


def compact_day_counts(*, conn: Connection) -> tuple[int, int]:
    """Merge the delta rows into one row per key (zero sums dropped); (rows before, after).

    The statement takes no lock beyond its rows: writers go on inserting their deltas.
    """
    before, after = conn.execute(text(COMPACT)).one()
    return int(before), int(after)


DayCount = tuple[date, int, str, bool, int]


def day_counts(*, conn: Connection) -> list[DayCount]:
    """Every non-zero count by (UTC day, source id, category, located), from the deltas, in
    key order."""
    return [(r[0], int(r[1]), r[2], r[3], int(r[4])) for r in conn.execute(text(SUMS))]


def day_counts_from_events(*, conn: Connection) -> list[DayCount]:
    """The same counts by a full GROUP BY of ``events`` (to check the deltas), in key order."""
    return [(r[0], int(r[1]), r[2], r[3], int(r[4])) for r in conn.execute(text(FROM_EVENTS))]
