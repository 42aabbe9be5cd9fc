"""Batches pushed by partners (``push_batches``), their sources, counts and rejections."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

#: first key of the transaction locks that serialise the pushes of one idempotency key
_RETRY_LOCK = 0x67747062  # "gtpb"

COUNT_NAMES = ("received", "inserted", "updated", "unchanged", "rejected", "unlocated")


@dataclass(frozen=True)
class SourceRow:
    """A source as the push API needs it: id, slug, name and its declared mapping."""

    id: int
    slug: str
    name: str
    mapping: dict[str, Any]


@dataclass(frozen=True)
class PushRow:
    """One pushed batch, with the counts of its ingest batch (zeros until it runs)."""

    id: int
    source_id: int
    source: str
    key_id: int | None
    idempotency_key: str | None
    spool_path: str
    format: str
    media_type: str
    bytes: int
    sha256: str
    state: str
    ingest_batch_id: int | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, int]


def source_by_slug(*, conn: Connection, slug: str) -> SourceRow | None:
    """The source called ``slug``, or None."""
    row = conn.execute(
        text("SELECT id, slug, name, mapping FROM sources WHERE slug = :s"), {"s": slug}
    ).first()
    return None if row is None else SourceRow(row[0], row[1], row[2], dict(row[3] or {}))


def source_by_id(*, conn: Connection, source_id: int) -> SourceRow | None:
    """The source ``source_id``, or None."""
    row = conn.execute(
        text("SELECT id, slug, name, mapping FROM sources WHERE id = :i"), {"i": source_id}
    ).first()
    return None if row is None else SourceRow(row[0], row[1], row[2], dict(row[3] or {}))


def source_slugs(*, conn: Connection) -> list[str]:
    """Every source's slug, sorted."""
    return [str(r[0]) for r in conn.execute(text("SELECT slug FROM sources ORDER BY slug"))]


_SELECT = """
SELECT p.id, p.source_id, s.slug AS source, p.key_id, p.idempotency_key, p.spool_path,
       p.format, p.media_type, p.bytes, p.sha256, p.state, p.ingest_batch_id, p.error,
       p.created_at, p.started_at, p.finished_at,
       coalesce(b.rows_read, 0) AS received, coalesce(b.inserted, 0) AS inserted,
       coalesce(b.updated, 0) AS updated, coalesce(b.unchanged, 0) AS unchanged,
       coalesce(b.rejected, 0) AS rejected, coalesce(b.unlocated, 0) AS unlocated
  FROM push_batches p
  JOIN sources s ON s.id = p.source_id
  LEFT JOIN ingest_batches b ON b.id = p.ingest_batch_id
"""


def _row(row: Any) -> PushRow:
    m = row._mapping
    counts = {name: int(m[name]) for name in COUNT_NAMES}
    fields = {k: m[k] for k in m if k not in COUNT_NAMES}
    return PushRow(**fields, counts=counts)


def lock_retries(*, conn: Connection, source_id: int, key_id: int | None, key: str) -> None:
    """Serialise, until the end of the transaction, the pushes carrying the same idempotency
    key for the same source and API key."""
    conn.execute(
        text("SELECT pg_advisory_xact_lock(:ns, hashtext(:k))"),
        {"ns": _RETRY_LOCK, "k": f"{source_id}:{key_id}:{key}"},
    )


def by_idempotency_key(
    *, conn: Connection, source_id: int, key_id: int | None, key: str
) -> PushRow | None:
    """The batch already pushed with this idempotency key by this API key, or None."""
    row = conn.execute(
        text(
            _SELECT + " WHERE p.source_id = :s AND p.key_id IS NOT DISTINCT FROM :k "
            "AND p.idempotency_key = :i"
        ),
        {"s": source_id, "k": key_id, "i": key},
    ).first()
    return None if row is None else _row(row)


def insert(
    *,
    conn: Connection,
    source_id: int,
    key_id: int | None,
    idempotency_key: str | None,
    spool_path: str,
    format: str,
    media_type: str,
    size: int,
    sha256: str,
) -> int:
    """A new queued batch; its id."""
    return int(
        conn.execute(
            text(
                "INSERT INTO push_batches (source_id, key_id, idempotency_key, spool_path, "
                "format, media_type, bytes, sha256) VALUES (:s, :k, :i, :p, :f, :m, :b, :h) "
                "RETURNING id"
            ),
            {
                "s": source_id,
                "k": key_id,
                "i": idempotency_key,
                "p": spool_path,
                "f": format,
                "m": media_type,
                "b": size,
                "h": sha256,
            },
        ).scalar_one()
    )


def get(*, conn: Connection, batch_id: int, for_update: bool = False) -> PushRow | None:
    """Batch ``batch_id`` (row-locked with ``for_update``), or None."""
    lock = " FOR UPDATE OF p" if for_update else ""
    row = conn.execute(text(_SELECT + " WHERE p.id = :i" + lock), {"i": batch_id}).first()
    return None if row is None else _row(row)


def listing(*, conn: Connection, source_id: int, limit: int) -> list[PushRow]:
    """The latest ``limit`` batches of a source, newest first."""
    rows = conn.execute(
        text(_SELECT + " WHERE p.source_id = :s ORDER BY p.id DESC LIMIT :n"),
        {"s": source_id, "n": limit},
    ).all()
    return [_row(r) for r in rows]


def start(*, conn: Connection, batch_id: int, ingest_batch_id: int) -> None:
    """The batch runs, filling ``ingest_batch_id``."""
    conn.execute(
        text(
            "UPDATE push_batches SET state = 'running', ingest_batch_id = :b, error = NULL, "
            "started_at = coalesce(started_at, now()) WHERE id = :i"
        ),
        {"b": ingest_batch_id, "i": batch_id},
    )


def finish(*, conn: Connection, batch_id: int, state: str, error: str | None = None) -> None:
    """The batch is ``done`` or ``failed`` (with its French ``error``)."""
    conn.execute(
        text("UPDATE push_batches SET state = :st, error = :e, finished_at = now() WHERE id = :i"),
        {"st": state, "e": None if error is None else error[:2000], "i": batch_id},
    )


def rejections_by_reason(*, conn: Connection, ingest_batch_id: int) -> dict[str, int]:
    """Rejected records of an ingest batch by reason code."""
    return {
        str(r): int(n)
        for r, n in conn.execute(
            text(
                "SELECT reason, count(*) FROM ingest_rejections WHERE batch_id = :b "
                "GROUP BY reason ORDER BY reason"
            ),
            {"b": ingest_batch_id},
        )
    }


def rejections(*, conn: Connection, ingest_batch_id: int) -> Iterator[tuple[int, str, str, str]]:
    """The rejected records of an ingest batch in record order: (number, reason, detail, raw),
    streamed from a server-side cursor."""
    result = conn.execution_options(stream_results=True, max_row_buffer=2000).execute(
        text(
            "SELECT row_number, reason, detail, raw FROM ingest_rejections WHERE batch_id = :b "
            "ORDER BY row_number"
        ),
        {"b": ingest_batch_id},
    )
    for row in result:
        yield int(row[0]), str(row[1]), str(row[2]), str(row[3])


def create_ingest_batch(
    *, conn: Connection, source_id: int, file_name: str, sha256: str, size: int
) -> int:
    """The ingest batch a pushed batch fills (status ``running``, nothing committed yet)."""
    return int(
        conn.execute(
            text(
                "INSERT INTO ingest_batches (source_id, file_name, file_sha256, file_size) "
                "VALUES (:s, :n, :h, :b) RETURNING id"
            ),
            {"s": source_id, "n": file_name, "h": sha256, "b": size},
        ).scalar_one()
    )


def worth_analyzing(*, conn: Connection) -> bool:
    """Whether the planner's statistics of ``events`` are worth refreshing: never analysed, or
    rows changed since the last ``ANALYZE`` reach half the table (autovacuum's rule, 50 rows +
    a fraction of the table, with 0.5 instead of 0.1: the planner scales its row estimates by
    the table's current size anyway, and a burst of batches should not analyse after each).

    ``events`` is partitioned: rows are written to (and counted in) its monthly partitions,
    while ``ANALYZE events`` sets the size of the whole table on the parent (-1 before)."""
    row = conn.execute(
        text(
            "SELECT c.reltuples, coalesce((SELECT sum(s.n_mod_since_analyze) "
            "FROM pg_partition_tree(c.oid) t JOIN pg_stat_user_tables s ON s.relid = t.relid "
            "WHERE t.isleaf), 0) FROM pg_class c WHERE c.oid = 'events'::regclass"
        )
    ).one()
    reltuples, changed = float(row[0]), int(row[1])
    return reltuples < 0 or changed >= 50 + 0.5 * reltuples


def ensure_source(
    *, conn: Connection, slug: str, name: str, owner: str, mapping: dict[str, Any]
) -> int:
    """Create (or rename) the source ``slug`` of a partner that pushes through the API; its id."""
    return int(
        conn.execute(
            text(
                "INSERT INTO sources (slug, name, kind, owner, mapping) "
                "VALUES (:s, :n, 'api', :o, CAST(:m AS jsonb)) ON CONFLICT (slug) DO UPDATE "
                "SET name = EXCLUDED.name, owner = EXCLUDED.owner, mapping = EXCLUDED.mapping, "
                "updated_at = now() RETURNING id"
            ),
            {"s": slug, "n": name, "o": owner, "m": json.dumps(mapping)},
        ).scalar_one()
    )
