"""Planners' polygon reports: a drawn polygon, an area or a saved zone, a period, categories.

The figures come from one SQL statement (``db/sql/report.sql``); this module chooses what to
ask (period, previous period, runs), then derives rates, ratios and changes from the counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from geotranquil.config import Settings
from geotranquil.db.counts import BIN_SIZES
from geotranquil.db.reports import (
    area_by_code,
    category_labels,
    last_event_day,
    run_report,
    saved_zone,
)
from geotranquil.db.runs import default_run
from geotranquil.errors import InvalidInput, NotFound
from geotranquil.geography.polygons import parse_polygon
from geotranquil.stats.emerging import PATTERN_LABELS_FR
from geotranquil.stats.getis_ord import GI_BIN_LABELS_FR

AREA_KINDS = ("commune", "arrondissement", "quartier")
#: the dates a report may name (its previous period lies before ``start``)
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


@dataclass(frozen=True)
class ReportRequest:
    """What a planner asks: exactly one of geometry, area or zone; a period; categories."""

    geometry: dict[str, Any] | None = None
    srid: int = 4326
    area_kind: str | None = None
    area_code: str | None = None
    zone_id: int | None = None
    start: date | None = None
    end: date | None = None  # inclusive
    categories: tuple[str, ...] | None = None
    bin: str = "week"  # of the series: day, week or month


@dataclass(frozen=True)
class ReportQuery:
    """The bound statement of a report, and what describes it."""

    params: dict[str, Any]
    zone: dict[str, Any]
    period: dict[str, str]
    categories: list[str]
    labels: dict[str, str]
    runs: dict[str, Any]
    bin: str = "week"


def prepare_report(*, conn: Connection, request: ReportRequest, settings: Settings) -> ReportQuery:
    """Check a report request and bind its statement (no counting yet)."""
    chosen = sum(x is not None for x in (request.geometry, request.area_code, request.zone_id))
    if chosen != 1:
        raise InvalidInput(
            "indiquez exactement une zone : geometry (un polygone GeoJSON), area "
            "(arrondissement ou quartier et son code) ou zone_id (une zone enregistrée)"
        )
    zone, area_id, wkt = _zone(conn, request, settings)
    labels = category_labels(conn=conn)
    categories = list(request.categories or labels)
    unknown = [c for c in categories if c not in labels]
    if unknown or not categories:
        raise InvalidInput(
            f"catégorie(s) inconnue(s) : {', '.join(unknown) or '(aucune)'} ; "
            f"catégories : {', '.join(labels)}"
        )
    if request.bin not in BIN_SIZES:
        raise InvalidInput(
            f"bin : pas de temps « {request.bin} » inconnu ; valeurs : {', '.join(BIN_SIZES)}"
        )
    start, end = _period(conn, request, settings)
    length = end - start
    tz = ZoneInfo(settings.timezone)
    t0 = datetime.combine(start, time(), tz)
    t1 = datetime.combine(end, time(), tz)
    p0 = datetime.combine(start - length, time(), tz)
    m0, m1 = city_days(t0, t1)
    hot = default_run(conn=conn, kind="gi_star")
    emerging = default_run(conn=conn, kind="emerging")
    params = {
        "area_id": area_id,
        "wkt": wkt,
        "t0": t0,
        "t1": t1,
        "p0": p0,
        "tz": settings.timezone,
        "cats": categories,
        "w0": start - timedelta(days=start.weekday()),
        "w1": end - timedelta(days=1),
        "bin": request.bin,
        "step": f"1 {request.bin}",
        "s0": _bin_start(start, request.bin),
        "s1": end - timedelta(days=1),
        "m0": m0,
        "m1": m1,
        "d0": m0.astimezone(UTC).date(),
        "d1": m1.astimezone(UTC).date(),
        "hot_run": hot["id"] if hot else None,
        "emerging_run": emerging["id"] if emerging else None,
        "hot_labels": [GI_BIN_LABELS_FR[b] for b in (1, 2, 3)],
        "pattern_names": list(PATTERN_LABELS_FR),
        "pattern_labels": list(PATTERN_LABELS_FR.values()),
    }
    period = {
        "start": start.isoformat(),
        "end": (end - timedelta(days=1)).isoformat(),
        "previous_start": (start - length).isoformat(),
        "previous_end": (start - timedelta(days=1)).isoformat(),
        "days": str(length.days),
    }
    runs = {
        "hot_spots": _run_info(hot),
        "emerging": _run_info(emerging),
    }
    return ReportQuery(params, zone, period, categories, labels, runs, request.bin)


def city_days(t0: datetime, t1: datetime) -> tuple[datetime, datetime]:
    """The UTC midnights ``(m0, m1)`` bounding the whole UTC days inside ``[t0, t1)``.

    The report counts the city's events of those days from the daily counts
    (``event_day_counts``, by UTC day) and those of the partial days at the edges, ``[t0, m0)``
    and ``[m1, t1)``, from the events. Without a whole UTC day inside, ``m0 = m1 = t1``: every
    event comes from the edge ``[t0, t1)``.

    Examples
    --------
    >>> paris = ZoneInfo("Europe/Paris")
    >>> m0, m1 = city_days(datetime(2025, 3, 1, tzinfo=paris), datetime(2025, 4, 1, tzinfo=paris))
    >>> m0.isoformat(), m1.isoformat()
    ('2025-03-01T00:00:00+00:00', '2025-03-31T00:00:00+00:00')
    >>> t0, t1 = datetime(2025, 6, 2, tzinfo=paris), datetime(2025, 6, 3, tzinfo=paris)
    >>> city_days(t0, t1) == (t1, t1)  # 22:00 UTC to 22:00 UTC: no whole UTC day
    True
    >>> m0, m1 = city_days(datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 2, tzinfo=UTC))
    >>> m0.isoformat(), m1.isoformat()
    ('2025-06-01T00:00:00+00:00', '2025-06-02T00:00:00+00:00')
    """
    u0, u1 = t0.astimezone(UTC), t1.astimezone(UTC)
    m0 = datetime.combine(u0.date(), time(), UTC)
    if m0 < u0:
        m0 += timedelta(days=1)
    m1 = datetime.combine(u1.date(), time(), UTC)
    if m0 >= m1:
        return t1, t1
    return m0, m1


def _bin_start(day: date, bin: str) -> date:
    """The first day of the bin holding ``day``.

    Examples
    --------
    >>> [_bin_start(date(2025, 6, 12), b).isoformat() for b in ("day", "week", "month")]
    ['2025-06-12', '2025-06-09', '2025-06-01']
    """
    if bin == "week":
        return day - timedelta(days=day.weekday())
    if bin == "month":
        return day.replace(day=1)
    return day


def _run_info(run: dict[str, Any] | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "id": run["id"],
        "resolution": run["resolution"],
        "period_start": run["period_start"].isoformat(),
        "period_end": run["period_end"].isoformat(),
    }


def _zone(
    conn: Connection, request: ReportRequest, settings: Settings
) -> tuple[dict[str, Any], int | None, str | None]:
    if request.geometry is not None:
        shape = parse_polygon(
            request.geometry,
            srid=request.srid,
            max_vertices=settings.report_max_vertices,
            max_area_km2=settings.report_max_area_km2,
        )
        return {"kind": "polygon", "code": None, "name": "Polygone dessiné"}, None, shape.wkt
    if request.zone_id is not None:
        zone = saved_zone(conn=conn, zone_id=request.zone_id)
        if zone is None:
            raise NotFound(f"zone enregistrée {request.zone_id} introuvable")
        return {"kind": "zone", "code": str(zone[0]), "name": zone[2]}, zone[0], None
    if request.area_kind not in AREA_KINDS:
        raise InvalidInput(
            f"type de zone « {request.area_kind} » inconnu : {', '.join(AREA_KINDS)}"
        )
    area = area_by_code(conn=conn, kind=request.area_kind, code=request.area_code)
    if area is None:
        raise NotFound(
            f"{request.area_kind} « {request.area_code} » introuvable ; voir la collection "
            f"/collections/{request.area_kind}s/items pour les codes"
        )
    return {"kind": request.area_kind, "code": area[1], "name": area[2]}, area[0], None


def max_period_days(settings: Settings) -> int:
    """The longest period of a report, in days (``report_max_years`` leap years).

    Examples
    --------
    >>> max_period_days(Settings(report_max_years=10))
    3660
    """
    return 366 * settings.report_max_years


def _period(conn: Connection, request: ReportRequest, settings: Settings) -> tuple[date, date]:
    """``[start, end)`` in local dates; by default the last 52 whole weeks of data."""
    for day in (request.start, request.end):  # 9999-12-31 + 1 day would overflow
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidInput(f"période : dates du {FIRST_DAY} au {LAST_DAY}")
    if request.end is not None:
        end = request.end + timedelta(days=1)
    else:
        last = last_event_day(conn=conn, timezone=settings.timezone)
        if last is None:
            raise InvalidInput("aucun événement : précisez la période (start, end)")
        end = last + timedelta(days=1)
        if request.start is None:  # whole weeks, so that the weekly series has no partial week
            end = last + timedelta(days=7 - last.weekday())
    start = request.start or end - timedelta(weeks=52)
    if end <= start:
        raise InvalidInput(f"période vide ou inversée : du {start} au {end - timedelta(days=1)}")
    if (end - start).days > max_period_days(settings):
        years = settings.report_max_years
        raise InvalidInput(f"période trop longue : {years} an{'s' if years > 1 else ''} au plus")
    return start, end


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def _figures(n: int, n_previous: int, city_n: int, residents: float, city: float) -> dict[str, Any]:
    """Derived figures of one line of the report.

    Examples
    --------
    >>> f = _figures(30, 20, 600, 10_000.0, 800_000.0)
    >>> f["rate_per_1000"], f["city_rate_per_1000"], f["ratio_to_city"], f["change_pct"]
    (3.0, 0.75, 4.0, 50.0)
    """
    rate = 1000.0 * n / residents if residents >= 1 else None
    city_rate = 1000.0 * city_n / city if city >= 1 else None
    change_pct = _ratio(100.0 * (n - n_previous), n_previous)
    ratio = _ratio(rate, city_rate)
    share = _ratio(n, city_n)
    return {
        "n": n,
        "n_previous": n_previous,
        "change": n - n_previous,
        "change_pct": None if change_pct is None else round(change_pct, 1),
        "rate_per_1000": None if rate is None else round(rate, 3),
        "city_n": city_n,
        "city_rate_per_1000": None if city_rate is None else round(city_rate, 3),
        "ratio_to_city": None if ratio is None else round(ratio, 3),
        "share_of_city": None if share is None else round(share, 4),
    }


def finish_report(query: ReportQuery, raw: dict[str, Any]) -> dict[str, Any]:
    """The report document from the statement's output."""
    residents = float(raw["residents"] or 0.0)
    city = float(raw["city_residents"] or 0.0)
    lines = []
    for line in raw["by_category"]:
        figures = _figures(line["n"], line["n_previous"], line["city_n"], residents, city)
        lines.append(
            {"category": line["category"], "label": query.labels[line["category"]], **figures}
        )
    totals = _figures(
        sum(x["n"] for x in lines),
        sum(x["n_previous"] for x in lines),
        sum(x["city_n"] for x in lines),
        residents,
        city,
    )
    notes = []
    if residents < 1:
        notes.append("zone sans habitants recensés : pas de taux pour 1 000 habitants")
    if query.runs["hot_spots"] is None:
        notes.append("aucun calcul de points chauds : lancez « geotranquil hotspots »")
    return {
        "zone": {
            **query.zone,
            "area_km2": round(float(raw["area_km2"]), 4),
            "residents": round(residents, 1),
        },
        "period": query.period,
        "categories": query.categories,
        "totals": totals,
        "by_category": lines,
        "weekly": raw["weekly"],
        "bin": query.bin,
        "series": raw["series"],
        "hot_cells": {"type": "FeatureCollection", "features": raw["hot_cells"]},
        "emerging_cells": {"type": "FeatureCollection", "features": raw["emerging_cells"]},
        "runs": query.runs,
        "notes": notes,
    }


def polygon_report(*, engine: Engine, request: ReportRequest, settings: Settings) -> dict[str, Any]:
    """The full report for a planner's request."""
    with engine.connect() as conn:
        query = prepare_report(conn=conn, request=request, settings=settings)
        raw = run_report(conn=conn, params=query.params)
    return finish_report(query, raw)
