"""The data version: one counter that triggers bump whenever served data change."""

from __future__ import annotations

from sqlalchemy import Connection, text


def data_version(*, conn: Connection) -> int:
    """The current data version (0 before the migration that creates it)."""
    value = conn.execute(text("SELECT version FROM data_version WHERE id = 1")).scalar()
    return int(value or 0)
