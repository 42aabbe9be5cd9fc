"""Planner statistics after bulk loads: every load path analyses the tables it wrote.

Autovacuum may be off (or late) on the servers geotranquil runs on, and PostgreSQL plans a
never-analysed table from defaults: a ``counts-r10`` tile took 110 s before ``ANALYZE
grid_cells`` and 0.3 s after. ``ANALYZE`` reads a sample (at most 30,000 rows at the default
statistics target), takes about a second on the largest table and blocks neither reads nor
writes; services run it in a transaction of its own once the load has committed.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Engine, text

#: tables a load may ask to analyse (names are SQL identifiers: never taken from input)
LOADED_TABLES = frozenset(
    {
        "areas",
        "grid_cells",
        "categories",
        "events",
        "event_keys",
        "ingest_batches",
        "ingest_rejections",
        "ban_addresses",
        "event_geocoding",
        "hotspot_runs",
        "hotspot_cells",
        "forecast_runs",
        "forecast_cells",
        "service_requests",
        "service_request_contacts",
        "service_request_media",
        "service_request_history",
    }
)


def analyze_tables(*, conn: Connection, tables: Iterable[str]) -> list[str]:
    """``ANALYZE`` each of ``tables`` in the caller's transaction; the tables done, in order."""
    done: list[str] = []
    for table in dict.fromkeys(tables):
        if table not in LOADED_TABLES:
            raise ValueError(f"not a loaded table: {table!r}")
        conn.exec_driver_sql(f"ANALYZE {table}")
        done.append(table)
    return done


def warm_connections(engine: Engine, count: int) -> int:
    """Open ``count`` pooled connections at once and run in each the statements a request
    starts with, so that the first requests find live connections whose server processes
    already know PostGIS's functions and the main tables (a cold one spends about 9 ms planning
    its first PostGIS statement). How many were warmed."""
    conns = []
    try:
        for _ in range(count):
            conn = engine.connect()
            conns.append(conn)
            conn.execute(text("SELECT version FROM data_version WHERE id = 1"))
            conn.execute(
                text(
                    "SELECT count(*) FROM areas WHERE kind = 'commune' AND ST_DWithin("
                    "geom::geography, ST_SetSRID(ST_MakePoint(5.37, 43.3), 4326)::geography, 1) "
                    "AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(5.37, 43.3), 4326))"
                )
            )
            conn.execute(text("SELECT id FROM events ORDER BY id DESC LIMIT 1"))
            conn.rollback()
    finally:
        for conn in conns:
            conn.close()
    return len(conns)
