"""The global key of the events (``event_keys``, migration 0026) for writers outside ingestion.

Ingestion (:mod:`geotranquil.db.ingest`) and residents' reports (:mod:`geotranquil.db.open311`)
write the key of each event they add in the same statement or transaction. A bulk load that
copies rows straight into ``events`` (a benchmark's store, a test's planted events) adds the
keys afterwards with :func:`add_missing_keys`, in its own transaction.
"""

from __future__ import annotations

from typing import Any

import psycopg
from sqlalchemy import Connection, text

#: the keys of the events that have none, found in full before one is written: a single
#: INSERT ... WHERE NOT EXISTS planned on an empty ``event_keys`` (as after a bulk copy) became
#: a nested loop scanning the keys' heap once per event, a heap that the statement itself
#: grows: quadratic (300,000 events ran for minutes instead of seconds)
_FIND_MISSING = (
    "CREATE TEMP TABLE missing_event_keys AS "
    "SELECT e.source_id, e.external_id, e.id AS event_id, e.occurred_at FROM events e "
    "WHERE NOT EXISTS (SELECT 1 FROM event_keys k WHERE k.source_id = e.source_id "
    "AND k.external_id = e.external_id AND k.event_id = e.id)"
)
#: a pair already held by another event fails on the primary key (an event written twice is
#: an error, never skipped)
_ADD_MISSING = (
    "INSERT INTO event_keys (source_id, external_id, event_id, occurred_at) "
    "SELECT source_id, external_id, event_id, occurred_at FROM missing_event_keys"
)


def _run(conn: Connection | psycopg.Connection[Any], sql: str) -> int:
    """Execute ``sql`` on either kind of connection; the rows it wrote."""
    if isinstance(conn, psycopg.Connection):
        return int(conn.execute(sql).rowcount)
    return int(conn.execute(text(sql)).rowcount)


def add_missing_keys(*, conn: Connection | psycopg.Connection[Any]) -> int:
    """Write the key of every event that has none, in the caller's transaction; how many.

    A second event with the (source_id, external_id) of another fails (``UniqueViolation``).
    """
    _run(conn, "DROP TABLE IF EXISTS missing_event_keys")
    _run(conn, _FIND_MISSING)
    added = _run(conn, _ADD_MISSING)
    _run(conn, "DROP TABLE missing_event_keys")
    return added
