"""The monthly partitions of ``events``: created by the platform, ahead of the rows they hold.

``events`` is partitioned by RANGE (occurred_at), one partition per calendar month in UTC,
named ``events_yYYYYmMM`` (migration 0024). There is no DEFAULT partition (it would forbid
creating a month later whose rows it holds), so every path that writes events calls
:func:`ensure_event_partitions` for the months it is about to write, before writing: the ingest
chunk, the Open311 report, the tests' fixtures. A periodic job keeps the coming months ready.

Creating a partition takes an ACCESS EXCLUSIVE lock on ``events`` until the transaction ends,
so the check comes first (the catalogue alone, no lock on ``events``) and the creation is
serialised by a transaction advisory lock; callers that can commit it apart (the ingest
pipeline) do so, which keeps the exclusive lock a few milliseconds long.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from sqlalchemy import Connection

from geotranquil.db.copy import _raw

#: the partitions' names: ``events_y2024m03`` holds March 2024 (UTC)
PARTITION_NAME = re.compile(r"^events_y(\d{4})m(\d{2})$")

#: first key of the transaction lock that serialises the creation of partitions ("gtpt")
_PARTITION_LOCK = 0x67747074


def month_of(moment: datetime | date) -> date:
    """The first day of the UTC month of ``moment`` (a naive datetime is taken as UTC).

    Examples
    --------
    >>> from datetime import timedelta, timezone
    >>> month_of(datetime(2024, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))))
    datetime.date(2024, 2, 1)
    >>> month_of(date(2024, 3, 17))
    datetime.date(2024, 3, 1)
    """
    if isinstance(moment, datetime):
        moment = (moment.astimezone(UTC) if moment.tzinfo else moment).date()
    return moment.replace(day=1)


def add_months(month: date, count: int) -> date:
    """The first day of the month ``count`` months after ``month`` (before when negative).

    Examples
    --------
    >>> add_months(date(2024, 11, 1), 3)
    datetime.date(2025, 2, 1)
    >>> add_months(date(2024, 1, 1), -1)
    datetime.date(2023, 12, 1)
    """
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: datetime | date, last: datetime | date) -> list[date]:
    """The first days of the UTC months from ``first``'s to ``last``'s, both included.

    Examples
    --------
    >>> months_between(date(2024, 11, 5), date(2025, 1, 31))
    [datetime.date(2024, 11, 1), datetime.date(2024, 12, 1), datetime.date(2025, 1, 1)]
    >>> months_between(date(2025, 1, 1), date(2024, 1, 1))
    []
    """
    month, end = month_of(first), month_of(last)
    out = []
    while month <= end:
        out.append(month)
        month = add_months(month, 1)
    return out


def partition_name(month: date) -> str:
    """The name of the partition of ``month``.

    Examples
    --------
    >>> partition_name(date(2024, 3, 1))
    'events_y2024m03'
    """
    return f"events_y{month.year:04d}m{month.month:02d}"


def is_partition_name(name: str | None) -> bool:
    """Whether ``name`` is the name of a monthly partition of ``events``."""
    return name is not None and PARTITION_NAME.match(name) is not None


def create_partition_sql(month: date) -> str:
    """``CREATE TABLE IF NOT EXISTS`` of the partition of ``month`` (bounds as UTC literals).

    Examples
    --------
    >>> sql = create_partition_sql(date(2024, 12, 1))
    >>> sql.split(" FOR ")[0]
    'CREATE TABLE IF NOT EXISTS events_y2024m12 PARTITION OF events'
    >>> sql.split(" FROM ")[1]
    "('2024-12-01 00:00:00+00') TO ('2025-01-01 00:00:00+00')"
    """
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF events "
        f"FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') "
        f"TO ('{add_months(month, 1).isoformat()} 00:00:00+00')"
    )


def event_partitions(*, conn: Connection | psycopg.Connection[Any]) -> list[str]:
    """The names of the partitions of ``events``, in order."""
    rows = _raw(conn).execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'public.events'::regclass ORDER BY c.relname"
    )
    return [str(r[0]) for r in rows]


def ensure_event_partitions(
    *, conn: Connection | psycopg.Connection[Any], first: datetime | date, last: datetime | date
) -> list[str]:
    """Create the missing monthly partitions of ``events`` covering ``first`` to ``last`` (UTC
    months, both included) in the caller's transaction; the names created (none when they all
    exist, or when ``events`` is not partitioned: one catalogue query, no lock)."""
    return ensure_event_months(conn=conn, months=months_between(first, last))


def ensure_event_months(
    *, conn: Connection | psycopg.Connection[Any], months: Iterable[date]
) -> list[str]:
    """Create the missing partitions of exactly ``months`` (first days of UTC months): a batch
    with one event of 1975 among those of 2025 makes two months, not the fifty years between;
    the names created."""
    wanted = {partition_name(m): m for m in sorted(set(months))}
    if not wanted:
        return []
    raw = _raw(conn)
    missing = _missing(raw, wanted)
    if not missing:
        return []
    raw.execute("SELECT pg_advisory_xact_lock(%s)", (_PARTITION_LOCK,))
    created = []
    for name in _missing(raw, wanted):  # again: another session may have made them meanwhile
        raw.execute(create_partition_sql(wanted[name]))
        created.append(name)
    return created


def _missing(raw: psycopg.Connection[Any], wanted: dict[str, date]) -> list[str]:
    """Those of ``wanted`` that are not partitions of ``events`` yet (none when ``events`` is
    a plain table: a database not migrated yet)."""
    rows = raw.execute(
        "SELECT w.name FROM unnest(CAST(%s AS text[])) AS w(name) "
        "WHERE EXISTS (SELECT 1 FROM pg_partitioned_table "
        "              WHERE partrelid = 'public.events'::regclass) "
        "AND NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "                WHERE i.inhparent = 'public.events'::regclass AND c.relname = w.name)",
        (list(wanted),),
    )
    return sorted(str(r[0]) for r in rows)
