"""Reading the audit trail in tests: the rows a test's requests added, and key ids."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from geotranquil.db.keys import hash_key


def last_id(engine: Engine) -> int:
    """The id of the newest audit row (0 when there is none)."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one())


def rows_after(engine: Engine, after: int) -> list[dict[str, Any]]:
    """The audit rows added after ``after``, oldest first, as dictionaries."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, at, who, role, action, method, route, path, filters, bbox, rows, "
                "client FROM audit_log WHERE id > :a ORDER BY id"
            ),
            {"a": after},
        ).fetchall()
    return [dict(r._mapping) for r in rows]


def key_id(engine: Engine, key: str) -> int:
    """The id of a live API key."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT id FROM api_keys WHERE key_hash = :h"), {"h": hash_key(key)}
            ).scalar_one()
        )


def table_text(engine: Engine) -> str:
    """Every audit row as text (to look for what must never be there)."""
    with engine.connect() as conn:
        return "\n".join(
            conn.execute(text("SELECT a::text FROM audit_log a ORDER BY id")).scalars()
        )
