"""The polygon report's one statement (``sql/report.sql``) and the lookups around it."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from sqlalchemy import Connection, text


@cache
def report_sql() -> str:
    """The report statement, read once from the package."""
    return files("geotranquil.db").joinpath("sql/report.sql").read_text("utf-8")


def run_report(*, conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
    """Execute the report statement with its bound ``params``; the decoded JSON document."""
    raw = conn.execute(text(report_sql()), params).scalar_one()
    decoded: dict[str, Any] = json.loads(raw)
    return decoded


def last_event_day(*, conn: Connection, timezone: str) -> Any:
    """The local date of the latest event, or None (the max of ``occurred_at`` itself: read
    from the end of its index, where the max of an expression of it would scan every event)."""
    return conn.execute(
        text("SELECT (max(occurred_at) AT TIME ZONE :tz)::date FROM events"), {"tz": timezone}
    ).scalar()


def category_labels(*, conn: Connection) -> dict[str, str]:
    """Category code -> French label, in the taxonomy's order."""
    rows = conn.execute(text("SELECT code, label FROM categories ORDER BY sort_order, code"))
    return {str(code): str(label) for code, label in rows}


def saved_zone(*, conn: Connection, zone_id: int) -> tuple[int, str, str] | None:
    """A saved zone's (id, code, name), or None."""
    row = conn.execute(
        text("SELECT id, code, name FROM areas WHERE kind = 'zone' AND id = :i"), {"i": zone_id}
    ).first()
    return None if row is None else (int(row[0]), row[1], row[2])


def area_by_code(*, conn: Connection, kind: str, code: str | None) -> tuple[int, str, str] | None:
    """A reference area's (id, code, name) by kind and code, or None."""
    row = conn.execute(
        text("SELECT id, code, name FROM areas WHERE kind = :k AND code = :c"),
        {"k": kind, "c": code},
    ).first()
    return None if row is None else (int(row[0]), row[1], row[2])
