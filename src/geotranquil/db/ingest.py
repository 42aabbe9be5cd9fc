"""What the ingestion pipeline reads and writes: sources, batches, events, rejections.

The pipeline runs on one raw psycopg connection (its own transactions, one per chunk, and a
session advisory lock per file); every function here takes that connection as ``conn`` and
runs in the caller's transaction. Bulk rows go through :mod:`geotranquil.db.copy`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cache
from importlib.resources import files
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from geotranquil.db.copy import copy_csv

#: First key of the transaction locks that serialise the writers of one source (the second
#: key is the source id).
_SOURCE_LOCK = 0x67746E71  # "gtnq"

Conn = psycopg.Connection[Any]


@cache
def _sql(name: str) -> str:
    return files("geotranquil.db").joinpath("sql", name).read_text("utf-8")


def upsert_source(
    *, conn: Conn, slug: str, name: str, kind: str, owner: str | None, mapping: dict[str, Any]
) -> int:
    """Create or update the ``sources`` row of a mapping; return its id."""
    row = conn.execute(
        """
        INSERT INTO sources (slug, name, kind, owner, mapping)
        VALUES (%(slug)s, %(name)s, %(kind)s, %(owner)s, %(mapping)s)
        ON CONFLICT (slug) DO UPDATE SET
            name = EXCLUDED.name, kind = EXCLUDED.kind, owner = EXCLUDED.owner,
            mapping = EXCLUDED.mapping, updated_at = now()
        RETURNING id
        """,
        {"slug": slug, "name": name, "kind": kind, "owner": owner, "mapping": Jsonb(mapping)},
    ).fetchone()
    assert row is not None
    return int(row[0])


def category_codes(*, conn: Conn) -> set[str]:
    """The codes of the canonical categories."""
    return {str(r[0]) for r in conn.execute("SELECT code FROM categories")}


def commune_wkb(*, conn: Conn) -> bytes | None:
    """The commune outline as WKB, or None when no area is loaded."""
    row = conn.execute(
        "SELECT ST_AsBinary(geom) FROM areas WHERE kind = 'commune' ORDER BY id LIMIT 1"
    ).fetchone()
    return None if row is None else bytes(row[0])


def try_lock(*, conn: Conn, key: int) -> bool:
    """Take a session advisory lock; False when another session holds it."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
    return bool(row and row[0])


def unlock(*, conn: Conn, key: int) -> None:
    """Release a lock taken by :func:`try_lock`."""
    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def previous_batch(
    *, conn: Conn, source_id: int, sha256: str, mapping_sha256: str | None = None
) -> tuple[int, str, int, int] | None:
    """The latest batch of this file for this source read with this mapping (or with an
    unknown one, from before mappings were hashed): (id, status, rows committed, events
    stored: inserted + updated + unchanged), or None."""
    row = conn.execute(
        "SELECT id, status, rows_committed, inserted + updated + unchanged FROM ingest_batches "
        "WHERE source_id = %s AND file_sha256 = %s "
        "AND (CAST(%s AS text) IS NULL OR mapping_sha256 IS NULL OR mapping_sha256 = %s) "
        "ORDER BY id DESC LIMIT 1",
        (source_id, sha256, mapping_sha256, mapping_sha256),
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]), int(row[2]), int(row[3]))


def abandon_batches(*, conn: Conn, source_id: int, sha256: str, mapping_sha256: str) -> int:
    """Interrupted batches of this file read with another mapping become failed (a new batch
    reads the file again with the new mapping); how many."""
    cur = conn.execute(
        "UPDATE ingest_batches SET status = 'failed', "
        "error = 'abandonné : la correspondance (mapping) a changé depuis' "
        "WHERE source_id = %s AND file_sha256 = %s AND status = 'running' "
        "AND mapping_sha256 IS DISTINCT FROM %s",
        (source_id, sha256, mapping_sha256),
    )
    return cur.rowcount


def resume_batch(*, conn: Conn, batch_id: int) -> None:
    """Mark an interrupted or failed batch as running again."""
    conn.execute(
        "UPDATE ingest_batches SET status = 'running', error = NULL, "
        "resumed = resumed + 1 WHERE id = %s",
        (batch_id,),
    )


def create_batch(
    *,
    conn: Conn,
    source_id: int,
    file_name: str,
    sha256: str,
    size: int,
    mapping_sha256: str | None = None,
) -> int:
    """Start a new batch for a file; its id."""
    row = conn.execute(
        "INSERT INTO ingest_batches (source_id, file_name, file_sha256, file_size, "
        "mapping_sha256) VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (source_id, file_name, sha256, size, mapping_sha256),
    ).fetchone()
    assert row is not None
    return int(row[0])


def fail_batch(*, conn: Conn, batch_id: int, error: str) -> None:
    """Mark a batch as failed with its error (cut to 2,000 characters)."""
    conn.execute(
        "UPDATE ingest_batches SET status = 'failed', error = %s WHERE id = %s",
        (error[:2000], batch_id),
    )


def complete_batch(*, conn: Conn, batch_id: int) -> None:
    """Mark a batch as completed."""
    conn.execute(
        "UPDATE ingest_batches SET status = 'completed', finished_at = now() WHERE id = %s",
        (batch_id,),
    )


def batch_counts(*, conn: Conn, batch_id: int) -> tuple[dict[str, int], dict[str, int]]:
    """A batch's counts (rows_read, inserted, updated, unchanged, rejected, unlocated) and
    its rejections by reason."""
    names = ("rows_read", "inserted", "updated", "unchanged", "rejected", "unlocated")
    row = conn.execute(
        f"SELECT {', '.join(names)} FROM ingest_batches WHERE id = %s", (batch_id,)
    ).fetchone()
    assert row is not None
    reasons = {
        str(r): int(n)
        for r, n in conn.execute(
            "SELECT reason, count(*) FROM ingest_rejections WHERE batch_id = %s "
            "GROUP BY reason ORDER BY reason",
            (batch_id,),
        )
    }
    return dict(zip(names, (int(v) for v in row), strict=True)), reasons


def create_stage(*, conn: Conn) -> None:
    """The session's staging table of rows that update known events (``ingest_stage``)."""
    conn.execute(_sql("ingest_stage.sql"))


def lock_source(*, conn: Conn, source_id: int) -> None:
    """Serialise the writers of one source until the end of the transaction."""
    conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_SOURCE_LOCK, source_id))


def known_external_ids(*, conn: Conn, source_id: int, external_ids: list[str]) -> set[str]:
    """Those of ``external_ids`` that the source already has."""
    # the identifiers travel as one JSON text: psycopg adapts a 50,000-item list in Python,
    # element by element (about 0.2 s per chunk, holding the GIL)
    # read from ``event_keys`` (one table, its primary key), not from the partitioned
    # ``events``, where (source_id, external_id) is indexed per month and ``= ANY(...)``
    # probed every month's index (2.1 s per 50,000 ids over 30 months). The lateral subquery
    # (``LIMIT 1`` keeps the planner from flattening it into a join) is one primary-key probe
    # per identifier whatever the planner knows of the source: a plain join to a source
    # missing from the statistics became a hash join over all of the source's keys, and
    # ``= ANY`` a filter after the scan (quadratic: a 605k-row file 25 % done after 15 min)
    cur = conn.execute(
        "SELECT k.external_id FROM jsonb_array_elements_text(%s::jsonb) AS i(x) "
        "CROSS JOIN LATERAL (SELECT external_id FROM event_keys "
        "WHERE source_id = %s AND external_id = i.x LIMIT 1) AS k",
        (json.dumps(external_ids, ensure_ascii=False), source_id),
    )
    return {str(r[0]) for r in cur.fetchall()}


def insert_events(
    *,
    conn: Conn,
    columns: Sequence[str],
    data: str | bytes,
    source_id: int,
    batch_id: int,
    rows: int,
) -> None:
    """New events straight into ``events`` from their ``COPY`` CSV text (``rows`` events of
    ``source_id`` in ``batch_id``), and their keys into ``event_keys``.

    The keys are read back from the rows just copied: they carry this batch (one writer per
    batch) and ids that the identity hands out after its last value read before the ``COPY``
    (read, not drawn: no id is lost; the identity caches no values, so every later value is
    above it). A pair already stored fails on ``event_keys``' primary key, and a count of keys
    other than ``rows`` fails too.
    """
    row = conn.execute(
        "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('events', 'id')), 0)"
    ).fetchone()
    assert row is not None
    copy_csv(conn, "events", columns, data)
    cur = conn.execute(
        _sql("ingest_insert_keys.sql"),
        {"after": int(row[0]), "source_id": source_id, "batch_id": batch_id},
    )
    if cur.rowcount != rows:
        raise RuntimeError(f"event_keys: {cur.rowcount} keys written for {rows} new events")


def update_events(
    *, conn: Conn, columns: Sequence[str], data: str | bytes, source_id: int, batch_id: int
) -> int:
    """Stage rows of known events (CSV text of ``columns``) and apply those that changed;
    the number of events updated. Each event is found by its key (``event_keys``: its id and
    month), and a key follows its event's new ``occurred_at``."""
    conn.execute("TRUNCATE ingest_stage")
    copy_csv(conn, "ingest_stage", columns, data)
    # the planner costs the per-row probe of ``events`` as one index scan per month (run-time
    # pruning is not in its costs): with many months it would rather sort or hash every
    # partition of ``events`` (a 50 M-row scan for a chunk). Nested loops only, for this
    # statement: each staged row reads one key and one partition's primary key.
    nested_loops_only(conn=conn, on=True)
    row = conn.execute(
        _sql("ingest_update_events.sql"), {"source_id": source_id, "batch_id": batch_id}
    ).fetchone()
    nested_loops_only(conn=conn, on=False)
    assert row is not None
    return int(row[0])


def nested_loops_only(*, conn: Conn, on: bool) -> None:
    """Forbid (``on``) or allow again hash and merge joins until the end of the transaction."""
    value = "off" if on else "on"
    conn.execute(
        "SELECT set_config('enable_hashjoin', %s, true), set_config('enable_mergejoin', %s, true)",
        (value, value),
    )


def insert_rejections(
    *, conn: Conn, batch_id: int, rejections: Iterable[tuple[int, str, str | None, str]]
) -> None:
    """Rejected rows of a batch: (row number, reason, detail, raw content)."""
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY ingest_rejections (batch_id, row_number, reason, detail, raw) FROM STDIN"
        ) as copy,
    ):
        for row_number, reason, detail, raw in rejections:
            copy.write_row((batch_id, row_number, reason, detail, raw.replace("\x00", "")))


def checkpoint(
    *,
    conn: Conn,
    batch_id: int,
    last_row: int,
    inserted: int,
    updated: int,
    unchanged: int,
    rejected: int,
    unlocated: int,
) -> None:
    """Add a chunk's counts to its batch and move the checkpoint to its last row."""
    conn.execute(
        """
        UPDATE ingest_batches SET
            rows_committed = %(last)s, rows_read = %(last)s,
            inserted = inserted + %(ins)s, updated = updated + %(upd)s,
            unchanged = unchanged + %(same)s, rejected = rejected + %(rej)s,
            unlocated = unlocated + %(unloc)s
        WHERE id = %(id)s
        """,
        {
            "last": last_row,
            "ins": inserted,
            "upd": updated,
            "same": unchanged,
            "rej": rejected,
            "unloc": unlocated,
            "id": batch_id,
        },
    )


def batch_progress(*, conn: Conn, batch_id: int) -> tuple[str, int] | None:
    """A batch's status and the rows it has committed, or None when there is no such batch."""
    row = conn.execute(
        "SELECT status, rows_committed FROM ingest_batches WHERE id = %s", (batch_id,)
    ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]))
