"""Hot-spot runs and their per-cell results: written once, read by cell, by area, by run.

A per-cell output named in :data:`CELL_COLUMNS` has its own column of ``hotspot_cells``; any
other output of a statistic is kept in the row's ``outputs`` JSONB object, so a new statistic
needs no migration (:func:`output_sql` reads either, typed).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
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
#: SQL type of each JSON type of an output kept in ``outputs``
_SQL_TYPES = {"number": "float8", "integer": "bigint", "string": "text", "boolean": "boolean"}


def output_sql(name: str, json_type: str, alias: str = "c") -> str:
    """The SQL expression of a per-cell output of ``hotspot_cells`` (row ``alias``), typed.

    ``name`` is a statistic's declared output (a lowercase identifier, checked by the registry):
    its own column when it has one, else its value in ``outputs``.

    Examples
    --------
    >>> output_sql("gi_bin", "integer")
    'c.gi_bin'
    >>> output_sql("score", "number")
    "CAST(c.outputs ->> 'score' AS float8)"
    """
    if not name.isidentifier() or not name.isascii():
        raise ValueError(f"output name {name!r} is not an identifier")
    if name in CELL_COLUMNS:
        return f"{alias}.{name}"
    return f"CAST({alias}.outputs ->> '{name}' AS {_SQL_TYPES[json_type]})"


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
    """Store a run and its per-cell results; return its id.

    The columns of ``cells`` in ``CELL_COLUMNS`` go to their own columns (missing ones NULL),
    any other into ``outputs`` (NaN stored as JSON null).
    """
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
    extra = [c for c in cells.columns if c not in CELL_COLUMNS]
    columns = ["run_id", *CELL_COLUMNS]
    if extra:
        rows = json.loads(cells[extra].to_json(orient="records", double_precision=15))
        frame["outputs"] = [json.dumps(r, ensure_ascii=False) for r in rows]
        columns.append("outputs")
    copy_frame(conn, "hotspot_cells", frame, columns)
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


def _with_outputs(rows: Sequence[Any]) -> pd.DataFrame:
    """Rows of ``CELL_COLUMNS`` then ``outputs`` as a frame, the outputs as their own columns."""
    frame = pd.DataFrame([r[:-1] for r in rows], columns=CELL_COLUMNS)
    outputs = [r[-1] or {} for r in rows]
    if any(outputs):
        frame = frame.join(pd.DataFrame(outputs, index=frame.index))
    return frame


def run_cells(*, conn: Connection, run_id: int) -> pd.DataFrame:
    """Per-cell results of a run, ordered by cell (outputs kept in ``outputs`` as columns)."""
    rows = conn.execute(
        text(
            f"SELECT {', '.join(CELL_COLUMNS)}, outputs FROM hotspot_cells WHERE run_id = :i "
            "ORDER BY h3"
        ),
        {"i": run_id},
    ).fetchall()
    return _with_outputs(rows)


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
            f"SELECT {cols}, c.outputs FROM hotspot_cells c JOIN grid_cells g ON g.h3 = c.h3 "
            "JOIN areas a ON a.id = :a AND ST_Intersects(g.geom, a.geom) "
            "WHERE c.run_id = :r ORDER BY c.h3"
        ),
        {"a": area[0], "r": run_id},
    ).fetchall()
    return _with_outputs(rows)


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


def set_timings(*, conn: Connection, run_id: int, timings: dict[str, float]) -> None:
    """Replace a run's stage timings (the last stage, storing, is measured after the insert)."""
    conn.execute(
        text("UPDATE hotspot_runs SET timings = :t WHERE id = :i"),
        {"t": Jsonb(timings), "i": run_id},
    )


def data_window(
    *, conn: Connection, start: datetime, end: datetime, categories: Sequence[str] | None
) -> dict[str, Any]:
    """How much data a run over ``[start, end)`` sees: events, located ones, last batch, span."""
    row = conn.execute(
        text(
            "SELECT count(*) AS events, count(geom) AS located, max(batch_id) AS last_batch, "
            "min(occurred_at) AS first_event, max(occurred_at) AS last_event FROM events "
            "WHERE occurred_at >= :s AND occurred_at < :e "
            "AND (CAST(:c AS text[]) IS NULL OR category = ANY(CAST(:c AS text[])))"
        ),
        {"s": start, "e": end, "c": list(categories) if categories else None},
    ).one()
    out = dict(row._mapping)
    for key in ("first_event", "last_event"):
        out[key] = out[key].isoformat() if out[key] is not None else None
    return out


def last_event_day(*, conn: Connection, timezone: str) -> date | None:
    """The local day of the latest event, or None when there is none."""
    day: date | None = conn.execute(
        text("SELECT max(occurred_at AT TIME ZONE :tz)::date FROM events"), {"tz": timezone}
    ).scalar()
    return day
