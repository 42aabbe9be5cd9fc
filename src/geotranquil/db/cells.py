"""One hexagon in detail: its grid record, counts, series per time bin, run results, events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from geotranquil.db.counts import BIN_SIZES
from geotranquil.errors import InvalidInput, NotFound

RESOLUTIONS = (7, 8, 9, 10)


def grid_cell(*, conn: Connection, h3: int) -> dict[str, Any]:
    """The grid record of a cell; NotFound when the cell is not on the study area's grid."""
    row = conn.execute(
        text(
            "SELECT resolution, round(population::numeric, 1)::float8 AS population, "
            "arrondissement_code, quartier_code, round(area_m2::numeric, 1)::float8 AS area_m2 "
            "FROM grid_cells WHERE h3 = :h"
        ),
        {"h": h3},
    ).first()
    if row is None:
        raise NotFound(f"hexagone {h3:x} absent de la grille de la zone d'étude")
    return dict(row._mapping)


def _column(resolution: int) -> str:
    if resolution not in RESOLUTIONS:
        raise InvalidInput(f"résolution {resolution} non servie : {RESOLUTIONS}")
    return f"h3_r{resolution}"


def _filters(
    resolution: int,
    categories: list[str],
    start: datetime | None,
    end: datetime | None,
    prefix: str = "",
) -> tuple[str, dict[str, Any]]:
    clauses = [f"{prefix}{_column(resolution)} = :h", f"{prefix}category = ANY(:cats)"]
    params: dict[str, Any] = {"cats": categories}
    if start is not None:
        clauses.append(f"{prefix}occurred_at >= :t0")
        params["t0"] = start
    if end is not None:
        clauses.append(f"{prefix}occurred_at < :t1")
        params["t1"] = end
    return " AND ".join(clauses), params


def counts_by_category(
    *,
    conn: Connection,
    h3: int,
    resolution: int,
    categories: list[str],
    start: datetime | None,
    end: datetime | None,
) -> dict[str, int]:
    """Events of the cell per category over ``[start, end)``."""
    where, params = _filters(resolution, categories, start, end)
    rows = conn.execute(
        text(f"SELECT category, count(*) FROM events WHERE {where} GROUP BY category"),
        {**params, "h": h3},
    ).all()
    return {str(r[0]): int(r[1]) for r in rows}


def binned_counts(
    *,
    conn: Connection,
    h3: int,
    resolution: int,
    categories: list[str],
    start: datetime,
    end: datetime,
    timezone: str,
    bin: str = "week",
) -> list[dict[str, Any]]:
    """Events of the cell per local day, week (Monday) or month, zeros included, ``[start, end)``.

    Each bin is ``{"start": first local day, "n": events}``.
    """
    if bin not in BIN_SIZES:
        raise InvalidInput(f"pas de temps « {bin} » inconnu : {', '.join(BIN_SIZES)}")
    where, params = _filters(resolution, categories, start, end)
    rows = conn.execute(
        text(
            "WITH bins AS (SELECT generate_series("
            "date_trunc(:bin, CAST(:t0 AS timestamptz) AT TIME ZONE :tz), "
            "CAST(:t1 AS timestamptz) AT TIME ZONE :tz - interval '1 microsecond', "
            "CAST(:step AS interval)) AS bin), "
            "n AS (SELECT date_trunc(:bin, occurred_at AT TIME ZONE :tz) AS bin, "
            f"count(*) AS n FROM events WHERE {where} GROUP BY 1) "
            "SELECT bins.bin::date, coalesce(n.n, 0) FROM bins "
            "LEFT JOIN n ON n.bin = bins.bin ORDER BY 1"
        ),
        {**params, "h": h3, "tz": timezone, "bin": bin, "step": f"1 {bin}"},
    ).all()
    return [{"start": r[0].isoformat(), "n": int(r[1])} for r in rows]


def hotspot_result(*, conn: Connection, h3: int, run_id: int) -> dict[str, Any] | None:
    """A hot-spot run's result for the cell, or None when the run does not cover it."""
    row = conn.execute(
        text(
            "SELECT value, z, p, p_sim, significant, gi_bin, cluster, pattern, trend_z, trend_p, "
            "hot_bins, cold_bins FROM hotspot_cells WHERE run_id = :r AND h3 = :h"
        ),
        {"r": run_id, "h": h3},
    ).first()
    return dict(row._mapping) if row else None


def forecast_result(*, conn: Connection, h3: int, run_id: int) -> dict[str, Any] | None:
    """A forecast run's result for the cell, or None."""
    row = conn.execute(
        text(
            "SELECT expected, rank, area_share, top_class FROM forecast_cells "
            "WHERE run_id = :r AND h3 = :h"
        ),
        {"r": run_id, "h": h3},
    ).first()
    return dict(row._mapping) if row else None


def forecast_run(*, conn: Connection, run_id: int) -> dict[str, Any]:
    """A forecast run's record; NotFound if there is none."""
    row = conn.execute(
        text(
            "SELECT id, method, resolution, origin, period_days, horizon, created_at "
            "FROM forecast_runs WHERE id = :i"
        ),
        {"i": run_id},
    ).first()
    if row is None:
        raise NotFound(f"prévision {run_id} introuvable")
    return dict(row._mapping)


def latest_events(
    *,
    conn: Connection,
    h3: int,
    resolution: int,
    categories: list[str],
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The cell's most recent events (raw rows: for the roles that may read raw events)."""
    where, params = _filters(resolution, categories, start, end, prefix="e.")
    rows = conn.execute(
        text(
            "SELECT e.id, e.occurred_at, e.category, c.label AS category_label, "
            "src.slug AS source, e.address, e.location_precision FROM events e "
            "JOIN categories c ON c.code = e.category JOIN sources src ON src.id = e.source_id "
            f"WHERE {where} "
            "ORDER BY e.occurred_at DESC, e.id DESC LIMIT :lim"
        ),
        {**params, "h": h3, "lim": limit},
    ).all()
    return [dict(r._mapping) for r in rows]


def list_runs(*, conn: Connection) -> dict[str, list[dict[str, Any]]]:
    """Every hot-spot and forecast run, newest first, with what says what it shows."""
    hot = conn.execute(
        text(
            "SELECT id, kind, resolution, period_start, period_end, bin, categories, value, "
            "created_at, n_cells FROM hotspot_runs ORDER BY created_at DESC, id DESC"
        )
    ).all()
    forecasts = conn.execute(
        text(
            "SELECT id, method, resolution, origin, period_days, horizon, categories, created_at "
            "FROM forecast_runs ORDER BY created_at DESC, id DESC"
        )
    ).all()
    return {
        "hotspot_runs": [dict(r._mapping) for r in hot],
        "forecast_runs": [dict(r._mapping) for r in forecasts],
    }


def list_categories(*, conn: Connection) -> list[dict[str, Any]]:
    """The canonical categories in display order, with their family."""
    rows = conn.execute(
        text(
            "SELECT code, label, family, family_label, public FROM categories "
            "ORDER BY sort_order, code"
        )
    ).all()
    return [dict(r._mapping) for r in rows]


def quietest_land_cell(*, conn: Connection) -> tuple[int, float, float] | None:
    """The resolution-9 land cell with the fewest events among those nearest the middle of the
    study area (the 200 closest to the centroid of all land cells): (h3, lon, lat)."""
    row = conn.execute(
        text(
            "WITH land AS (SELECT h3, ST_Centroid(geom) AS p FROM grid_cells "
            "WHERE resolution = :r AND land_share >= 0.999), "
            "middle AS (SELECT ST_Centroid(ST_Collect(p)) AS m FROM land), "
            "near AS (SELECT l.h3, l.p FROM land l, middle ORDER BY l.p <-> middle.m LIMIT 200) "
            "SELECT n.h3, ST_X(n.p), ST_Y(n.p) FROM near n "
            "ORDER BY (SELECT count(*) FROM events e WHERE e.h3_r9 = n.h3), n.h3 LIMIT 1"
        ),
        {"r": 9},
    ).first()
    return None if row is None else (int(row[0]), float(row[1]), float(row[2]))
