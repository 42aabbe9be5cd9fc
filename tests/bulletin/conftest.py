"""The bulletin's tests: a database of their own with a planted week whose every figure is
known (:data:`WEEK`), hot-spot and forecast runs with known cells, residents' reports, and
free text that must never reach the PDF."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import h3
import pandas as pd
import pytest
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.db.event_keys import add_missing_keys
from geotranquil.db.forecasts import ForecastRecord, insert_forecast
from geotranquil.db.partitions import ensure_event_partitions
from geotranquil.db.runs import RunRecord, insert_run
from tests.conftest import database_tier

PARIS = ZoneInfo("Europe/Paris")

#: the planted week, 2026-S45: Monday 2 to Sunday 8 November 2026
WEEK = "2026-S45"
MONDAY = date(2026, 11, 2)
#: three arrondissements (INSEE codes) and their events: the week, each of the four weeks
#: before (S41..S44), the same week a year earlier (2025-S45)
PLANTED = {
    "13201": {"week": 12, "before": [10, 10, 10, 10], "last_year": 6},
    "13203": {"week": 30, "before": [12, 12, 12, 12], "last_year": 15},
    "13213": {"week": 5, "before": [4, 6, 8, 2], "last_year": 0},
}
UNLOCATED = 3  # events of the week without a position
#: free text planted on every event and report: none of it may appear in the bulletin
SECRETS = ("TEXTE-LIBRE-SECRET", "Rue-Secrète", "NATIF-SECRET", "DESCRIPTION-SECRETE")
HOT_CELLS, EMERGING_CELLS = 6, 3
REPORTS = {"received": 3, "resolved": 1, "open": 2}


@dataclass(frozen=True)
class Planted:
    engine: Engine
    settings: Settings


settings, engine, loaded_engine = database_tier("bulletin")


def _cell_of(conn: object, code: str) -> int:
    """A resolution-10 grid cell of arrondissement ``code``, well inside it."""
    return int(
        conn.execute(  # type: ignore[attr-defined]
            text(
                "SELECT g.h3 FROM grid_cells g JOIN areas a ON a.kind = 'arrondissement' "
                "AND a.code = :c WHERE g.resolution = 10 AND g.arrondissement_code = :c "
                "AND ST_Within(g.geom, a.geom) ORDER BY g.h3 LIMIT 1"
            ),
            {"c": code},
        ).scalar_one()
    )


def _times(monday: date, n: int) -> list[datetime]:
    """``n`` local instants of the week of ``monday``: its first and last minutes, then
    spread over the days (aware, Europe/Paris)."""
    first = datetime.combine(monday, datetime.min.time(), PARIS) + timedelta(minutes=30)
    last = datetime.combine(monday + timedelta(days=6), datetime.min.time(), PARIS) + timedelta(
        hours=23, minutes=30
    )
    middle = [
        datetime.combine(monday + timedelta(days=i % 7), datetime.min.time(), PARIS)
        + timedelta(hours=8 + i % 12)
        for i in range(max(0, n - 2))
    ]
    return [first, last, *middle][:n]


def _events(cell: int | None, times: list[datetime], prefix: str) -> list[dict[str, object]]:
    rows = []
    for i, at in enumerate(times):
        row: dict[str, object] = {
            "x": f"{prefix}-{i}",
            "at": at,
            "lon": None,
            "lat": None,
            **{f"r{r}": None for r in (7, 8, 9, 10, 12)},
        }
        if cell is not None:
            lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
            fine = h3.latlng_to_cell(lat, lon, 12)
            row.update(lon=lon, lat=lat, r12=h3.str_to_int(fine))
            for r in (7, 8, 9, 10):
                row[f"r{r}"] = h3.str_to_int(h3.cell_to_parent(fine, r))
        rows.append(row)
    return rows


def plant(engine: Engine) -> None:
    """Empty the store and plant the week, its references, runs and reports."""
    rows: list[dict[str, object]] = []
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE events, event_geocoding, "
                "ingest_rejections, ingest_batches, sources, hotspot_runs, "
                "forecast_runs, service_requests, bulletins RESTART IDENTITY CASCADE"
            )
        )
        source = conn.execute(
            text("INSERT INTO sources (slug, name, kind) VALUES ('pm', 'PM', 'file') RETURNING id")
        ).scalar_one()
        cells = {code: _cell_of(conn, code) for code in PLANTED}
        for code, counts in PLANTED.items():
            rows += _events(cells[code], _times(MONDAY, counts["week"]), f"{code}-w")
            for k, n in enumerate(counts["before"]):
                rows += _events(
                    cells[code], _times(MONDAY - timedelta(weeks=4 - k), n), f"{code}-b{k}"
                )
            rows += _events(
                cells[code], _times(date(2025, 11, 3), counts["last_year"]), f"{code}-ly"
            )
        rows += _events(None, _times(MONDAY, UNLOCATED), "unlocated")
        # the minute after the week (Monday 9 November 00:15, Paris): week S46, not S45
        rows += _events(cells["13201"], [datetime(2026, 11, 9, 0, 15, tzinfo=PARIS)], "after")
        instants = [r["at"] for r in rows if isinstance(r["at"], datetime)]
        ensure_event_partitions(conn=conn, first=min(instants), last=max(instants))
        conn.execute(
            text(
                "INSERT INTO events (source_id, external_id, category, native_category, "
                "occurred_at, geom, h3_fine, h3_r7, h3_r8, h3_r9, h3_r10, location_precision, "
                "address, attributes) VALUES (:s, :x, 'vol', 'NATIF-SECRET', :at, "
                "CASE WHEN CAST(:lon AS float8) IS NULL THEN NULL ELSE "
                "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) END, :r12, :r7, :r8, :r9, :r10, "
                "'exact', '12 Rue-Secrète', "
                '\'{"description": "TEXTE-LIBRE-SECRET"}\'::jsonb)'
            ),
            [dict(r, s=source) for r in rows],
        )
        add_missing_keys(conn=conn)
        _plant_runs(conn, cells)
        _plant_reports(conn)


def _plant_runs(conn: object, cells: dict[str, int]) -> None:
    grid = pd.DataFrame(
        conn.execute(  # type: ignore[attr-defined]
            text("SELECT h3 FROM grid_cells WHERE resolution = 9 ORDER BY h3")
        ).all(),
        columns=["h3"],
    )
    n = len(grid)
    record = {
        "resolution": 9,
        "period_start": date(2026, 9, 7),
        "period_end": date(2026, 11, 8),
        "bin": "week",
        "categories": None,
        "value": "counts",
        "neighbourhood": {},
        "parameters": {},
        "data_window": {},
        "code_version": "test",
        "n_cells": n,
    }
    gi = grid.assign(value=0.0, gi_bin=0)
    gi.loc[: HOT_CELLS - 1, "gi_bin"] = [3, 3, 3, 2, 2, 1]
    gi.loc[HOT_CELLS : HOT_CELLS + 1, "gi_bin"] = -2
    insert_run(conn=conn, run=RunRecord(kind="gi_star", **record), cells=gi)  # type: ignore[arg-type]
    em = grid.assign(value=0.0, pattern="no_pattern")
    em.loc[:4, "pattern"] = [
        "new_hot",
        "intensifying_hot",
        "consecutive_hot",
        "persistent_hot",
        "sporadic_cold",
    ]
    insert_run(conn=conn, run=RunRecord(kind="emerging", **record), cells=em)  # type: ignore[arg-type]
    fc = grid.assign(
        expected=[float(n - i) for i in range(n)],
        rank=range(1, n + 1),
        area_share=[(i + 1) / n for i in range(n)],
    )
    fc["top_class"] = [1 if s <= 0.01 else 5 if s <= 0.05 else None for s in fc["area_share"]]
    insert_forecast(
        conn=conn,  # type: ignore[arg-type]
        run=ForecastRecord(
            method="hawkes",
            resolution=9,
            origin=date(2026, 11, 9),
            period_days=7,
            horizon=1,
            categories=None,
            parameters={},
            data_window={},
            code_version="test",
            n_cells=n,
        ),
        cells=fc,
    )


def _plant_reports(conn: object) -> None:
    at = datetime(2026, 11, 4, 10, 0, tzinfo=PARIS)
    for i, state in enumerate(("resolved", "received", "in_progress")):
        conn.execute(  # type: ignore[attr-defined]
            text(
                "INSERT INTO service_requests (service_request_id, token, service_code, state, "
                "requested_at, location_precision, description, address_string, geom) VALUES "
                "(:i, :t, 'vol', :s, :at, 'exact', 'DESCRIPTION-SECRETE', '3 Rue-Secrète', "
                "ST_SetSRID(ST_MakePoint(5.38, 43.3), 4326))"
            ),
            {"i": f"R{i}", "t": f"tok{i}", "s": state, "at": at + timedelta(hours=i)},
        )
    # a report of the week after: not counted
    conn.execute(  # type: ignore[attr-defined]
        text(
            "INSERT INTO service_requests (service_request_id, token, service_code, state, "
            "requested_at, location_precision, geom) VALUES ('R9', 'tok9', 'vol', "
            "'received', :at, 'exact', ST_SetSRID(ST_MakePoint(5.38, 43.3), 4326))"
        ),
        {"at": at + timedelta(days=7)},
    )


@pytest.fixture(scope="session")
def planted(loaded_engine: Engine, settings: Settings) -> Planted:
    plant(loaded_engine)
    return Planted(loaded_engine, settings)


def pdf_text(pdf: Path) -> str:
    """The PDF's text as ``pdftotext -layout`` reads it (a real PDF tool)."""
    done = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout
