"""Hot-spot runs and their per-cell results: written once, read by cell, by area, by run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from psycopg.types.json import Jsonb
from sqlalchemy import Connection, text

from geotranquil.db.copy import copy_frame
from geotranquil.errors import NotFound

CELL_COLUMNS = [
    "h3",
    "value",
    "z",
    "p",
    "p_sim",
    "significant",
    "gi_bin",
    "cluster",
    "pattern",
    "trend_z",
    "trend_p",
    "hot_bins",
    "cold_bins",
]


@dataclass
class RunRecord:
    """Everything that says what a run shows."""

    kind: str
    resolution: int
    period_start: date
    period_end: date
    bin: str
    categories: list[str] | None
    value: str
    neighbourhood: dict[str, Any]
    parameters: dict[str, Any]
    data_window: dict[str, Any]
    code_version: str
    timings: dict[str, float] = field(default_factory=dict)
    n_cells: int = 0


def insert_run(*, conn: Connection, run: RunRecord, cells: pd.DataFrame) -> int:
    """Store a run and its per-cell results (``CELL_COLUMNS``, missing ones NULL); return its id."""
    params = asdict(run)
    for key in ("neighbourhood", "parameters", "data_window", "timings"):
        params[key] = Jsonb(params[key])
    run_id = conn.execute(
        text(
            "INSERT INTO hotspot_runs (kind, resolution, period_start, period_end, bin, "
            "categories, value, neighbourhood, parameters, data_window, code_version, timings, "
            "n_cells) VALUES (:kind, :resolution, :period_start, :period_end, :bin, "
            ":categories, :value, :neighbourhood, :parameters, :data_window, :code_version, "
            ":timings, :n_cells) RETURNING id"
        ),
        params,
    ).scalar_one()
    frame = cells.reindex(columns=CELL_COLUMNS).assign(run_id=run_id)
    for col in ("gi_bin", "hot_bins", "cold_bins"):
        frame[col] = frame[col].astype("Int64")
    frame["significant"] = frame["significant"].astype("boolean")
    copy_frame(conn, "hotspot_cells", frame, ["run_id", *CELL_COLUMNS])
    return int(run_id)


def get_run(*, conn: Connection, run_id: int) -> dict[str, Any]:
    """A run's record; NotFound if there is none."""
    row = conn.execute(text("SELECT * FROM hotspot_runs WHERE id = :i"), {"i": run_id}).first()
    if row is None:
        raise NotFound(f"calcul {run_id} introuvable")
    return dict(row._mapping)


def latest_run(
    *, conn: Connection, kind: str, resolution: int | None = None
) -> dict[str, Any] | None:
    """The most recent run of a statistic (at a resolution), or None."""
    row = conn.execute(
        text(
            "SELECT * FROM hotspot_runs WHERE kind = :k "
            "AND (CAST(:r AS smallint) IS NULL OR resolution = :r) "
            "ORDER BY created_at DESC, id DESC LIMIT 1"
        ),
        {"k": kind, "r": resolution},
    ).first()
    return dict(row._mapping) if row else None


def run_cells(*, conn: Connection, run_id: int) -> pd.DataFrame:
    """Per-cell results of a run, ordered by cell."""
    rows = conn.execute(
        text(f"SELECT {', '.join(CELL_COLUMNS)} FROM hotspot_cells WHERE run_id = :i ORDER BY h3"),
        {"i": run_id},
    ).fetchall()
    return pd.DataFrame(rows, columns=CELL_COLUMNS)


def cell_history(*, conn: Connection, h3: int) -> list[dict[str, Any]]:
    """Every run's result for one cell, newest first."""
    rows = conn.execute(
        text(
            "SELECT r.id AS run_id, r.kind, r.created_at, c.* FROM hotspot_cells c "
            "JOIN hotspot_runs r ON r.id = c.run_id WHERE c.h3 = :h "
            "ORDER BY r.created_at DESC, r.id DESC"
        ),
        {"h": h3},
    ).fetchall()
    return [dict(r._mapping) for r in rows]


def cells_in_area(*, conn: Connection, run_id: int, kind: str, code: str) -> pd.DataFrame:
    """Per-cell results of a run for the cells that meet an area (arrondissement, quartier...)."""
    area = conn.execute(
        text("SELECT id FROM areas WHERE kind = :k AND code = :c"), {"k": kind, "c": code}
    ).first()
    if area is None:
        raise NotFound(f"zone {kind} « {code} » introuvable")
    cols = ", ".join(f"c.{c}" for c in CELL_COLUMNS)
    rows = conn.execute(
        text(
            f"SELECT {cols} FROM hotspot_cells c JOIN grid_cells g ON g.h3 = c.h3 "
            "JOIN areas a ON a.id = :a AND ST_Intersects(g.geom, a.geom) "
            "WHERE c.run_id = :r ORDER BY c.h3"
        ),
        {"a": area[0], "r": run_id},
    ).fetchall()
    return pd.DataFrame(rows, columns=CELL_COLUMNS)


def default_run(*, conn: Connection, kind: str) -> dict[str, Any] | None:
    """The run the map shows by default for a statistic: all categories, counts, newest."""
    row = conn.execute(
        text(
            "SELECT id, resolution, period_start, period_end, created_at FROM hotspot_runs "
            "WHERE kind = :k ORDER BY (categories IS NULL AND value = 'counts') DESC, "
            "created_at DESC, id DESC LIMIT 1"
        ),
        {"k": kind},
    ).first()
    return dict(row._mapping) if row else None
