"""Events planted by the integration tests apart from the code under test: a source, rows
written by SQL (their months' partitions first, their keys when asked), the event of a
resident's Open311 report, and a residents' file for the ingestion; and the events counted
per source by SQL, to check the kept counts against."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, TextClause, text

from geotranquil.db.event_keys import add_missing_keys
from geotranquil.db.partitions import ensure_event_months, ensure_event_partitions, month_of

#: where the planted reports stand (the centre of Marseille)
LON, LAT = 5.3745, 43.2951

#: what a planted row may set beside ``external_id`` and ``occurred_at``, and its default
#: (``lon`` and ``lat`` make ``geom``: none when either is missing)
OPTIONAL = {
    "category": "vol",
    "location_precision": "area",
    "address": None,
    "h3_fine": None,
    "lon": None,
    "lat": None,
}

INSERT_SOURCE = text("INSERT INTO sources (slug, name, kind) VALUES (:s, :s, :k) RETURNING id")

#: the columns a planted event is written with, and the value of each (``{i}``: its row)
COLUMNS = {
    "source_id": ":source_id",
    "external_id": ":external_id_{i}",
    "category": ":category_{i}",
    "occurred_at": ":occurred_at_{i}",
    "location_precision": ":location_precision_{i}",
    "address": ":address_{i}",
    "h3_fine": ":h3_fine_{i}",
    "geom": "ST_SetSRID(ST_MakePoint(CAST(:lon_{i} AS float8), CAST(:lat_{i} AS float8)), 4326)",
}


def new_source(
    engine: Engine, slug: str, kind: str = "file", months: Iterable[datetime | date] = ()
) -> int:
    """Insert a source named ``slug``; its id.

    Parameters
    ----------
    engine
        The test database.
    slug
        The source's slug, also its name.
    kind
        The source's kind (``file``, ``open311``...).
    months
        Moments whose UTC months' partitions are created too, for events the caller writes
        by other means than :func:`plant_events` (none by default: a test of the code that
        creates them must find them missing).
    """
    with engine.begin() as conn:
        ensure_event_months(conn=conn, months=[month_of(m) for m in months])
        return int(conn.execute(INSERT_SOURCE, {"s": slug, "k": kind}).scalar_one())


def plant_events(
    engine: Engine, source_id: int, rows: Sequence[Mapping[str, Any]], keys: bool = False
) -> list[int]:
    """Insert ``rows`` as events of ``source_id`` by SQL, in one statement; their ids.

    Parameters
    ----------
    engine
        The test database.
    source_id
        The source of every row.
    rows
        One mapping an event: ``external_id`` (distinct), ``occurred_at`` and any of
        :data:`OPTIONAL`.
    keys
        Whether to write the events' ``event_keys`` rows too (a pair already held fails).

    Returns
    -------
    list of int
        The ids of the events, in the order of ``rows``.

    Notes
    -----
    The partitions of the months from the earliest row's to the latest's (all the months
    between) are created first, and the keys written after, in the same transaction. One
    statement: the statement-level triggers (references, daily counts) run once.
    """
    unknown = {k for row in rows for k in row} - {"external_id", "occurred_at", *OPTIONAL}
    if unknown:
        raise ValueError(f"not a column of a planted event: {sorted(unknown)}")
    moments = [row["occurred_at"] for row in rows]
    with engine.begin() as conn:
        ensure_event_partitions(conn=conn, first=min(moments), last=max(moments))
        written = conn.execute(_insert_events(len(rows)), _parameters(source_id, rows)).all()
        if keys:
            add_missing_keys(conn=conn)
    ids = {str(external_id): int(event_id) for event_id, external_id in written}
    return [ids[row["external_id"]] for row in rows]


def _insert_events(count: int) -> TextClause:
    """One INSERT of ``count`` events (the rows' values numbered from 0), returning the id and
    external identifier of each."""
    values = ", ".join("(" + ", ".join(COLUMNS.values()).format(i=i) + ")" for i in range(count))
    return text(
        f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES {values} RETURNING id, external_id"
    )


def _parameters(source_id: int, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The parameters of :func:`_insert_events`: each row's values, defaults filled in."""
    out: dict[str, Any] = {"source_id": source_id}
    for i, row in enumerate(rows):
        out.update({f"{k}_{i}": v for k, v in {**OPTIONAL, **row}.items()})
    return out


def open311_event(
    source_id: int, external_id: str, at: datetime, category: str = "depot_sauvage"
) -> dict[str, Any]:
    """The event of a resident's Open311 report, as ``db.open311.insert_event`` takes it:
    located exactly at :data:`LON`, :data:`LAT`, made at ``at``."""
    return {
        "source_id": source_id,
        "external_id": external_id,
        "category": category,
        "native_category": f"open311:{category}",
        "occurred_at": at,
        "reported_at": at,
        "lon": LON,
        "lat": LAT,
        "h3_fine": 1,
        "h3_r7": 1,
        "h3_r8": 1,
        "h3_r9": 1,
        "h3_r10": 1,
        "location_precision": "exact",
        "address": None,
        "attributes": {},
    }


def residents_file(
    path: Path, reports: Mapping[int, str | tuple[str, str]], spread: float = 0.0
) -> Path:
    """Write a residents' file (the ``habitants`` mapping's JSON) to ``path``; the path.

    Parameters
    ----------
    path
        Where to write.
    reports
        Report number -> its local time with offset, or (that time, native category); the
        category is ``bruit`` when not given.
    spread
        Degrees of latitude between report ``n`` and report ``n + 1`` (0: all at one place,
        :data:`LAT` plus ``n * spread`` otherwise).
    """
    rows = []
    for number, report in reports.items():
        at, native = (report, "bruit") if isinstance(report, str) else report
        location = {"lat": LAT + number * spread, "lon": LON}
        rows.append({"report_id": number, "created": at, "category": native, "location": location})
    path.write_text(json.dumps(rows), "utf-8")
    return path


def counted_per_source(engine: Engine) -> dict[str, tuple[int, int]]:
    """Per source slug: (its events, those located), counted from ``events`` itself."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.slug, count(e.id), count(e.geom) FROM sources s "
                "LEFT JOIN events e ON e.source_id = s.id GROUP BY s.slug"
            )
        ).all()
    return {slug: (int(total), int(located)) for slug, total, located in rows}


def summed_over_sources(counts: Iterable[tuple[Any, int, str, bool, int]]) -> list[tuple[Any, ...]]:
    """Daily counts (day, source id, category, located, n) summed over the sources: (day,
    category, located, n), in key order."""
    summed: dict[tuple[Any, str, bool], int] = {}
    for day, _source, category, located, n in counts:
        summed[(day, category, located)] = summed.get((day, category, located), 0) + n
    return [(*key, n) for key, n in sorted(summed.items())]
