"""Forecast runs and their per-cell expectations: written once, read by run and by cell."""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import pandas as pd
import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import Connection, text

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
    buf = io.StringIO()
    frame[["run_id", *CELL_COLUMNS]].to_csv(buf, header=False, index=False)
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    with (
        raw.cursor() as cur,
        cur.copy(
            f"COPY forecast_cells (run_id, {', '.join(CELL_COLUMNS)}) FROM STDIN WITH (FORMAT csv)"
        ) as copy,
    ):
        copy.write(buf.getvalue())
    return int(run_id)


def latest_forecast(*, conn: Connection) -> dict[str, Any] | None:
    """The newest forecast run, or None."""
    row = conn.execute(
        text("SELECT * FROM forecast_runs ORDER BY created_at DESC, id DESC LIMIT 1")
    ).first()
    return dict(row._mapping) if row else None


def forecast_cells(*, conn: Connection, run_id: int) -> pd.DataFrame:
    """The cells of a forecast run, best ranked first."""
    rows = conn.execute(
        text(
            f"SELECT {', '.join(CELL_COLUMNS)} FROM forecast_cells WHERE run_id = :r ORDER BY rank"
        ),
        {"r": run_id},
    ).all()
    return pd.DataFrame(rows, columns=CELL_COLUMNS)
