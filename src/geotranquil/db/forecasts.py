"""Forecast runs and their per-cell expectations: written once, read by run and by cell."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import geopandas as gpd
import pandas as pd
from psycopg.types.json import Jsonb
from sqlalchemy import Connection, text

from geotranquil.db.copy import copy_frame

CELL_COLUMNS = ["h3", "expected", "rank", "area_share", "top_class"]


@dataclass
class ForecastRecord:
    """Everything that says what a forecast shows."""

    method: str
    resolution: int
    origin: date
    period_days: int
    horizon: int
    categories: list[str] | None
    parameters: dict[str, Any]
    data_window: dict[str, Any]
    code_version: str
    timings: dict[str, float] = field(default_factory=dict)
    n_cells: int = 0


def insert_forecast(*, conn: Connection, run: ForecastRecord, cells: pd.DataFrame) -> int:
    """Store a forecast run and its cells (``CELL_COLUMNS``); return its id."""
    params = asdict(run)
    for key in ("parameters", "data_window", "timings"):
        params[key] = Jsonb(params[key])
    run_id = conn.execute(
        text(
            "INSERT INTO forecast_runs (method, resolution, origin, period_days, horizon, "
            "categories, parameters, data_window, code_version, timings, n_cells) VALUES "
            "(:method, :resolution, :origin, :period_days, :horizon, :categories, :parameters, "
            ":data_window, :code_version, :timings, :n_cells) RETURNING id"
        ),
        params,
    ).scalar_one()
    frame = cells.reindex(columns=CELL_COLUMNS).assign(run_id=run_id)
    frame["top_class"] = frame["top_class"].astype("Int64")
    copy_frame(conn, "forecast_cells", frame, ["run_id", *CELL_COLUMNS])
    return int(run_id)


def latest_forecast(*, conn: Connection) -> dict[str, Any] | None:
    """The newest forecast run, or None."""
    row = conn.execute(
        text("SELECT * FROM forecast_runs ORDER BY created_at DESC, id DESC LIMIT 1")
    ).first()
    return dict(row._mapping) if row else None


def located_days(*, conn: Connection, timezone: str) -> tuple[date | None, date | None]:
    """Local dates (in ``timezone``) of the first and last located events; None when none."""
    first, last = conn.execute(
        text(
            "SELECT min(occurred_at AT TIME ZONE :tz)::date, "
            "max(occurred_at AT TIME ZONE :tz)::date FROM events WHERE geom IS NOT NULL"
        ),
        {"tz": timezone},
    ).one()
    return first, last


def cell_centroids(*, conn: Connection, resolution: int) -> pd.DataFrame:
    """Grid cells at ``resolution``, sorted: ``h3`` and their centroid ``x``, ``y`` in
    Lambert-93 and their land area ``land_m2``."""
    rows = conn.execute(
        text(
            "SELECT h3, ST_X(ST_Transform(ST_Centroid(geom), 2154)), "
            "ST_Y(ST_Transform(ST_Centroid(geom), 2154)), area_m2 * land_share "
            "FROM grid_cells WHERE resolution = :r ORDER BY h3"
        ),
        {"r": resolution},
    ).all()
    return pd.DataFrame(rows, columns=["h3", "x", "y", "land_m2"])


def event_points(
    *,
    conn: Connection,
    resolution: int,
    start: datetime,
    end: datetime,
    categories: list[str] | None,
) -> pd.DataFrame:
    """Located events in ``[start, end)`` (of ``categories`` when given): their cell ``h3`` at
    ``resolution``, ``t`` (days since ``start``) and ``x``, ``y`` in Lambert-93.

    ``t`` counts local days of ``start``'s time zone (wall clock): a window of n local weeks
    lasts 7 n days even across a clock change, so an event late on its last Sunday stays
    inside it (in elapsed time, it was an hour past the end after the October change).
    """
    zone = getattr(start.tzinfo, "key", "UTC")
    rows = conn.execute(
        text(
            f"SELECT h3_r{int(resolution)}, "
            "EXTRACT(EPOCH FROM (occurred_at AT TIME ZONE :tz) "
            "- (CAST(:t0 AS timestamptz) AT TIME ZONE :tz)) / 86400.0, "
            "ST_X(ST_Transform(geom, 2154)), ST_Y(ST_Transform(geom, 2154)) FROM events "
            "WHERE geom IS NOT NULL AND occurred_at >= :t0 AND occurred_at < :t1 "
            "AND (CAST(:cats AS text[]) IS NULL OR category = ANY(CAST(:cats AS text[])))"
        ),
        {"t0": start, "t1": end, "cats": categories, "tz": zone},
    ).all()
    return pd.DataFrame(rows, columns=["h3", "t", "x", "y"])


def forecast_cell_shapes(*, conn: Connection, run_id: int) -> gpd.GeoDataFrame:
    """The cells of a forecast run with their ``top_class`` and hexagon (``geom``)."""
    return gpd.read_postgis(
        text(
            "SELECT c.h3, c.top_class, g.geom FROM forecast_cells c "
            "JOIN grid_cells g ON g.h3 = c.h3 WHERE c.run_id = :r"
        ),
        conn,
        geom_col="geom",
        params={"r": run_id},
    )


def forecast_label(*, conn: Connection, run_id: int) -> tuple[str, date]:
    """A forecast run's method and origin."""
    row = conn.execute(
        text("SELECT method, origin FROM forecast_runs WHERE id = :r"), {"r": run_id}
    ).one()
    return str(row[0]), row[1]
