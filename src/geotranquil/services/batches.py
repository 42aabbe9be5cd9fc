"""Ingestion batches as staff read them: what a batch rejected, and why."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from geotranquil.db.batches import batch_rejections


def rejections(engine: Engine, batch_id: int) -> list[dict[str, Any]]:
    """Every rejected row of a batch in file order (``NotFound`` if there is no such batch)."""
    with engine.connect() as conn:
        return batch_rejections(conn=conn, batch_id=batch_id)
