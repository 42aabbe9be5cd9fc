"""The refreshes of the served analyses (``analysis_refreshes``), the events' own version, and
the lock that lets one refresh run at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Connection, text

#: the key of the PostgreSQL advisory lock held by the refresh that runs (any process)
REFRESH_LOCK_KEY = 0x7265_6672  # "refr"


@dataclass(frozen=True)
class EventsVersion:
    """What the analyses read, as a counter and the time it last moved."""

    version: int
    changed_at: datetime
    data_version: int  # the global version (caches, ETags)


def events_version(*, conn: Connection) -> EventsVersion:
    """The events' version, the time they last changed, and the global data version."""
    row = conn.execute(
        text("SELECT events_version, events_changed_at, version FROM data_version WHERE id = 1")
    ).one()
    return EventsVersion(int(row[0]), row[1], int(row[2]))


def lock(*, conn: Connection) -> None:
    """Wait for, then hold the refresh lock for the life of ``conn``'s session."""
    conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": REFRESH_LOCK_KEY})


def unlock(*, conn: Connection) -> None:
    """Release the refresh lock held by ``conn``'s session."""
    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": REFRESH_LOCK_KEY})


def lock_held(*, conn: Connection) -> bool:
    """Whether a refresh holds the lock now (in any session)."""
    return bool(
        conn.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid = 0 AND objid = :k AND objsubid = 1 AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
            ),
            {"k": REFRESH_LOCK_KEY},
        ).scalar_one()
    )


def interrupt_running(*, conn: Connection) -> int:
    """Mark as interrupted the refreshes still ``running``: called under the lock, they are
    the ones of killed processes. How many."""
    return conn.execute(
        text(
            "UPDATE analysis_refreshes SET status = 'interrupted', "
            "error = coalesce(error, 'processus arrêté pendant l''actualisation') "
            "WHERE status = 'running'"
        )
    ).rowcount


def last_refresh(*, conn: Connection, statuses: tuple[str, ...]) -> dict[str, Any] | None:
    """The newest refresh in one of ``statuses``, or None."""
    row = conn.execute(
        text(
            "SELECT * FROM analysis_refreshes WHERE status = ANY(:s) "
            "ORDER BY started_at DESC, id DESC LIMIT 1"
        ),
        {"s": list(statuses)},
    ).first()
    return dict(row._mapping) if row else None


def insert_refresh(
    *,
    conn: Connection,
    trigger: str,
    forced: bool,
    status: str,
    version: EventsVersion,
    job_id: int | None,
    notes: str | None = None,
) -> int:
    """Record a refresh started (or skipped: then finished at once); its id."""
    return int(
        conn.execute(
            text(
                "INSERT INTO analysis_refreshes (trigger, forced, status, data_version, "
                "data_changed_at, job_id, notes, finished_at, duration_s) VALUES (:t, :f, :s, "
                ":v, :c, :j, :n, CASE WHEN :s = 'running' THEN NULL ELSE now() END, "
                "CASE WHEN :s = 'running' THEN NULL ELSE 0 END) RETURNING id"
            ),
            {
                "t": trigger,
                "f": forced,
                "s": status,
                "v": version.version,
                "c": version.changed_at,
                "j": job_id,
                "n": notes,
            },
        ).scalar_one()
    )


def finish_refresh(
    *,
    conn: Connection,
    refresh_id: int,
    status: str,
    runs: dict[str, int],
    notes: str | None = None,
    error: str | None = None,
) -> None:
    """Record the end of a refresh: its status, runs, notes or error, and its duration."""
    conn.execute(
        text(
            "UPDATE analysis_refreshes SET status = :s, runs = :r, notes = :n, error = :e, "
            "finished_at = clock_timestamp(), "
            "duration_s = extract(epoch FROM clock_timestamp() - started_at) WHERE id = :i"
        ),
        {"s": status, "r": Jsonb(runs), "n": notes, "e": error, "i": refresh_id},
    )


def record_runs(*, conn: Connection, refresh_id: int, runs: dict[str, int]) -> None:
    """The runs a refresh has produced so far (kept if it is killed later)."""
    conn.execute(
        text("UPDATE analysis_refreshes SET runs = :r WHERE id = :i"),
        {"r": Jsonb(runs), "i": refresh_id},
    )


def get_refresh(*, conn: Connection, refresh_id: int) -> dict[str, Any] | None:
    """One refresh, or None."""
    row = conn.execute(
        text("SELECT * FROM analysis_refreshes WHERE id = :i"), {"i": refresh_id}
    ).first()
    return dict(row._mapping) if row else None


def recent_refreshes(*, conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The newest refreshes first."""
    rows = conn.execute(
        text("SELECT * FROM analysis_refreshes ORDER BY started_at DESC, id DESC LIMIT :n"),
        {"n": limit},
    ).all()
    return [dict(r._mapping) for r in rows]
