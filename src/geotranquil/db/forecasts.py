"""Forecast runs and their per-cell expectations: written once, read by run and by cell."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

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
