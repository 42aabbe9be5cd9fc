"""Streaming replication as each side sees it: the primary's WAL position, the replica's
replay position and time (for ``/health``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text


def primary_position(*, conn: Connection) -> str:
    """The primary's current WAL position (an LSN as text, e.g. ``0/3000148``)."""
    return str(conn.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one())


def bytes_behind(*, conn: Connection, position: str | None) -> int | None:
    """How many bytes of WAL the primary (``conn``) has written past ``position``; never
    negative (a replica may have replayed past the LSN read a moment before); None without
    a position."""
    if position is None:
        return None
    return int(
        conn.execute(
            text("SELECT greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), CAST(:p AS pg_lsn)), 0)"),
            {"p": position},
        ).scalar_one()
    )


def replica_state(*, conn: Connection) -> dict[str, Any]:
    """On a replica: whether it is in recovery, the WAL position it replayed, and how many
    seconds its replay is behind (0 when it has replayed everything it received; else the age
    of the last transaction it replayed)."""
    row = conn.execute(
        text(
            "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
            "CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() "
            "THEN 0.0 ELSE greatest(extract(epoch FROM clock_timestamp() "
            "- pg_last_xact_replay_timestamp()), 0)::float8 END"
        )
    ).one()
    return {
        "in_recovery": bool(row[0]),
        "replay_lsn": row[1],
        "lag_s": None if row[2] is None else float(row[2]),
    }


def replayed(*, conn: Connection, position: str) -> bool:
    """Whether the replica (``conn``) has replayed the WAL up to ``position``."""
    return bool(
        conn.execute(
            text("SELECT pg_last_wal_replay_lsn() >= CAST(:p AS pg_lsn)"), {"p": position}
        ).scalar()
    )
