"""Ingest batches and their rejections, as staff read them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from geotranquil.errors import NotFound


def latest_batches(*, conn: Connection, limit: int = 10) -> list[dict[str, Any]]:
    """The most recent batches, newest first."""
    rows = conn.execute(
        text(
            "SELECT b.id, s.slug AS source, b.file_name, b.status, b.started_at, b.rows_read, "
            "b.inserted, b.updated, b.unchanged, b.rejected, b.unlocated "
            "FROM ingest_batches b JOIN sources s ON s.id = b.source_id "
            "ORDER BY b.id DESC LIMIT :limit"
        ),
        {"limit": limit},
    )
    return [dict(r._mapping) for r in rows]


def batch_rejections(*, conn: Connection, batch_id: int) -> list[dict[str, Any]]:
    """Every rejection of a batch, in file order; NotFound if the batch does not exist."""
    exists = conn.execute(
        text("SELECT 1 FROM ingest_batches WHERE id = :b"), {"b": batch_id}
    ).first()
    if exists is None:
        raise NotFound(f"lot {batch_id} introuvable (voir « geotranquil status »)")
    rows = conn.execute(
        text(
            "SELECT row_number, reason, detail, raw FROM ingest_rejections "
            "WHERE batch_id = :b ORDER BY row_number"
        ),
        {"b": batch_id},
    )
    return [dict(r._mapping) for r in rows]


def batch_format(*, conn: Connection, batch_id: int) -> str | None:
    """The file format (``format.type`` of its source's mapping) a batch was read in, if known."""
    return conn.execute(
        text(
            "SELECT s.mapping -> 'format' ->> 'type' FROM ingest_batches b "
            "JOIN sources s ON s.id = b.source_id WHERE b.id = :b"
        ),
        {"b": batch_id},
    ).scalar()
