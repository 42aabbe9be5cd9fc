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

#: keys of the events that have none; a pair already held by another event fails on the
#: primary key (an event written twice is an error, never skipped)
_ADD_MISSING = (
    "INSERT INTO event_keys (source_id, external_id, event_id, occurred_at) "
    "SELECT e.source_id, e.external_id, e.id, e.occurred_at FROM events e "
    "WHERE NOT EXISTS (SELECT 1 FROM event_keys k WHERE k.source_id = e.source_id "
    "AND k.external_id = e.external_id AND k.event_id = e.id)"
)


def add_missing_keys(*, conn: Connection | psycopg.Connection[Any]) -> int:
    """Write the key of every event that has none, in the caller's transaction; how many.

    A second event with the (source_id, external_id) of another fails (``UniqueViolation``).
    """
    if isinstance(conn, psycopg.Connection):
        return int(conn.execute(_ADD_MISSING).rowcount)
    return int(conn.execute(text(_ADD_MISSING)).rowcount)
