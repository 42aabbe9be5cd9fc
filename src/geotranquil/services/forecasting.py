"""Forecasts from the database: the study area's data, a stored forecast run, the backtest."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from geotranquil import __version__
from geotranquil.charts.forecast import backtest_coverage_figure, forecast_map
from geotranquil.config import Settings
from geotranquil.db.areas import outlines
from geotranquil.db.counts import CountQuery, count_cube
from geotranquil.db.forecasts import (
    ForecastRecord,
    cell_centroids,
    event_points,
    forecast_cell_shapes,
    forecast_label,
    insert_forecast,
    located_days,
)
from geotranquil.db.maintenance import analyze_tables
from geotranquil.distributed.backtest import rolling_origin_on_cluster
from geotranquil.distributed.cluster import ClusterOptions, cluster_client
from geotranquil.errors import InvalidInput
from geotranquil.forecast.backtest import BacktestResult, rolling_origin
from geotranquil.forecast.base import ForecastData
from geotranquil.forecast.metrics import AREA_SHARES
from geotranquil.forecast.registry import METHODS, RECOMMENDED, make_method

#: forecast period name -> length in days
PERIODS = {"week": 7, "day": 1}


def _window(engine: Engine, timezone: str, period: str) -> tuple[date, date]:
    """Start of the first period of the data and the end of its last *complete* period.

    Weeks start on Mondays. A week the data only partly cover (they stop on a Wednesday) would
    look like a quiet week to every method and to the backtest's scoring: it is left out, and
    the forecast is for the week that starts after the last complete one. Days run to the last
    day with an event (included).
    """
    with engine.connect() as conn:
        first, last = located_days(conn=conn, timezone=timezone)
    if first is None or last is None:
        raise InvalidInput("aucun événement localisé : ingérez des données avant de prévoir")
    after = last + timedelta(days=1)
    if period == "day":
        return first, after
    start = first - timedelta(days=first.weekday())
    end = after - timedelta(days=after.weekday())
    if end <= start:
        raise InvalidInput(
            "moins d'une semaine complète de données localisées : impossible de prévoir"
        )
    return start, end


def period_length(period: str) -> int:
    """Days in a forecast period (``week`` or ``day``), or a clear error."""
    if period not in PERIODS:
        raise InvalidInput(f"période « {period} » inconnue ; périodes : {', '.join(PERIODS)}")
    return PERIODS[period]


def load_forecast_data(
    engine: Engine,
    settings: Settings,
    *,
    resolution: int = 9,
    categories: tuple[str, ...] | None = None,
    end: date | None = None,
    period: str = "week",
) -> ForecastData:
    """Counts per period (``week`` or ``day``), event points and cell centroids (Lambert-93)
    of the study area."""
    period_days = period_length(period)
    start, last_end = _window(engine, settings.timezone, period)
    end = end or last_end
    zone = ZoneInfo(settings.timezone)
    query = CountQuery(resolution, start, end, period, categories, settings.timezone)
    with engine.connect() as conn:
        cube = count_cube(conn=conn, query=query)
        geo = cell_centroids(conn=conn, resolution=resolution)
        events = event_points(
            conn=conn,
            resolution=resolution,
            start=datetime.combine(start, dtime(), zone),
            end=datetime.combine(end, dtime(), zone),
            categories=list(categories) if categories else None,
        )
    geo_frame = geo.set_index("h3")
    geo_frame = geo_frame.loc[cube.cells]
    keep = (geo_frame["land_m2"] > 0).to_numpy()  # cells of the study area, not the sea
    cells = cube.cells[keep]
    index = pd.Series(np.arange(len(cells)), index=cells)
    events = events[events["h3"].isin(index.index)]
    events = pd.DataFrame(
        {
            "t": events["t"].astype(float).to_numpy(),
            "x": events["x"].astype(float).to_numpy(),
            "y": events["y"].astype(float).to_numpy(),
            "cell": index.loc[events["h3"]].to_numpy(),
        }
    )
    return ForecastData(
        cells=cells,
        x=geo_frame["x"].to_numpy(dtype=float)[keep],
        y=geo_frame["y"].to_numpy(dtype=float)[keep],
        counts=cube.counts[keep],
        periods=cube.bins,
        period_days=period_days,
        events=events,
        population=cube.population[keep],
        area_m2=geo_frame["land_m2"].to_numpy(dtype=float)[keep],
    )


def ranked_cells(cells: np.ndarray, expected: np.ndarray, area: np.ndarray) -> pd.DataFrame:
    """Cells by decreasing expectation, with the share of area ranked so far and the class.

    Examples
    --------
    >>> out = ranked_cells(np.array([10, 11, 12, 13]), np.array([0.1, 2.0, 0.5, 0.0]),
    ...                    np.array([1.0, 1.0, 1.0, 97.0]))
    >>> out["h3"].tolist(), out["rank"].tolist(), out["top_class"].fillna(0).tolist()
    ([11, 12, 10, 13], [1, 2, 3, 4], [1, 5, 5, 0])
    """
    order = np.argsort(-expected, kind="stable")
    share = np.cumsum(area[order]) / area.sum()
    top = [next((int(s * 100) for s in AREA_SHARES if v <= s + 1e-12), None) for v in share]
    return pd.DataFrame(
        {
            "h3": cells[order],
            "expected": expected[order],
            "rank": np.arange(1, len(order) + 1),
            "area_share": share,
            "top_class": pd.array(top, dtype="Int64"),
        }
    )


@dataclass(frozen=True)
class ForecastSummary:
    """A stored forecast."""

    run_id: int
    method: str
    origin: date
    n_cells: int
    top: pd.DataFrame
    seconds: dict[str, float]


def compute_forecast(
    engine: Engine,
    settings: Settings,
    *,
    method: str = RECOMMENDED,
    resolution: int = 9,
    categories: tuple[str, ...] | None = None,
    horizon: int = 1,
    period: str = "week",
) -> ForecastSummary:
    """Fit ``method`` on every complete period of data (``week`` or ``day``) and forecast the
    next ``horizon`` periods."""
    if horizon < 1:
        raise InvalidInput("l'horizon doit être d'au moins une période")
    started = time.perf_counter()
    data = load_forecast_data(
        engine, settings, resolution=resolution, categories=categories, period=period
    )
    loaded = time.perf_counter()
    model = make_method(method).fit(data)
    fitted = time.perf_counter()
    expected = np.asarray(model.predict(horizon), dtype=float)
    predicted = time.perf_counter()
    assert data.area_m2 is not None
    areas = data.area_m2
    cells = ranked_cells(data.cells, expected, areas)
    origin = data.periods[-1] + timedelta(days=data.period_days)
    timings = {
        "load": round(loaded - started, 3),
        "fit": round(fitted - loaded, 3),
        "predict": round(predicted - fitted, 3),
    }
    record = ForecastRecord(
        method=method,
        resolution=resolution,
        origin=origin,
        period_days=data.period_days,
        horizon=horizon,
        categories=list(categories) if categories else None,
        parameters=_parameters(model),
        data_window={
            "start": data.periods[0].isoformat(),
            "end": origin.isoformat(),
            "events": len(data.events),
        },
        code_version=__version__,
        timings=timings,
        n_cells=len(cells),
    )
    with engine.begin() as conn:
        run_id = insert_forecast(conn=conn, run=record, cells=cells)
    with engine.begin() as conn:  # the forecast's cells are read by tiles and pages
        analyze_tables(conn=conn, tables=("forecast_runs", "forecast_cells"))
    return ForecastSummary(run_id, method, origin, len(cells), cells.head(10), timings)


def _parameters(model: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in vars(model).items():
        if isinstance(value, bool | int | float | str) or value is None:
            out[key] = value
        elif isinstance(value, np.floating | np.integer):
            out[key] = value.item()
    return out


def check_methods(methods: tuple[str, ...]) -> None:
    """A clear error for any name that is not a registered method."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InvalidInput(
            f"méthode(s) inconnue(s) : {', '.join(unknown)} ; méthodes : {', '.join(METHODS)}"
        )


def backtest_data(
    data: ForecastData,
    methods: tuple[str, ...],
    n_origins: int,
    *,
    out_dir: Path | None = None,
    progress: Any = None,
    client: Any = None,
) -> tuple[BacktestResult, Path | None]:
    """Rolling-origin backtest of ``methods`` over the last ``n_origins`` periods of ``data``
    (cells weighted by ``data.area_m2`` when known); the coverage curves as a PNG in
    ``out_dir`` when given. With a Dask ``client``, every (origin, method) is a task on its
    cluster (the same scores)."""
    first = data.n_periods - n_origins
    if n_origins < 1 or first < 8:
        raise InvalidInput(
            f"pas assez de périodes de données ({data.n_periods}) pour {n_origins} origines "
            "(il en faut au moins 8 avant la première)"
        )
    specs = [METHODS[m][1] for m in methods]
    if client is None:
        result = rolling_origin(
            data,
            specs,
            first_origin=first,
            n_origins=n_origins,
            area=data.area_m2,
            progress=progress,
        )
    else:
        result = rolling_origin_on_cluster(
            client,
            data,
            specs,
            first_origin=first,
            n_origins=n_origins,
            area=data.area_m2,
            progress=progress,
        )
    picture = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        picture = out_dir / "courbes_de_couverture.png"
        unit = "semaines" if data.period_days == 7 else "jours"
        backtest_coverage_figure(result, f"Backtest sur {n_origins} {unit}").savefig(picture)
    return result, picture


def run_backtest(
    engine: Engine,
    settings: Settings,
    *,
    methods: tuple[str, ...] = tuple(METHODS),
    resolution: int = 9,
    n_origins: int = 26,
    out_dir: Path | None = None,
    progress: Any = None,
    period: str = "week",
    categories: tuple[str, ...] | None = None,
    cluster: ClusterOptions | None = None,
) -> tuple[BacktestResult, Path | None]:
    """Rolling-origin backtest of ``methods`` over the last ``n_origins`` periods of data;
    with ``cluster``, its units run as tasks on that Dask cluster."""
    check_methods(methods)
    data = load_forecast_data(
        engine, settings, resolution=resolution, period=period, categories=categories
    )
    if cluster is None:
        return backtest_data(data, methods, n_origins, out_dir=out_dir, progress=progress)
    with cluster_client(cluster) as client:
        return backtest_data(
            data, methods, n_origins, out_dir=out_dir, progress=progress, client=client
        )


def forecast_picture(engine: Engine, run_id: int, path: Path) -> Path:
    """The map of a forecast run: the top 1 / 5 / 10 / 20 % of the area (PNG)."""
    with engine.connect() as conn:
        cells = forecast_cell_shapes(conn=conn, run_id=run_id)
        arrondissements = outlines(conn=conn, kind="arrondissement")
        method, origin = forecast_label(conn=conn, run_id=run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    title = f"Prévision ({method}) — semaine du {origin}"
    forecast_map(cells, arrondissements, title).savefig(path)
    return path
