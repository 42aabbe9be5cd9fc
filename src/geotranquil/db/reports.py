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
    """The local date of the latest event, or None."""
    return conn.execute(
        text("SELECT max(occurred_at AT TIME ZONE :tz)::date FROM events"), {"tz": timezone}
    ).scalar()
