"""Hot-spot runs: aggregate in PostGIS, compute in ``stats/``, persist the results.

The statistic is looked up by name in :mod:`geotranquil.stats.registry`; nothing here knows
one statistic from another.

``compute_run`` is the Python API behind ``geotranquil hotspots``; every stage is timed and
the timings are stored with the run, together with the parameters, the data window (how many
events, which batches) and the code version, so any map can say exactly what it shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import h3.api.basic_int as h3i
import numpy as np
import numpy.typing as npt
import pandas as pd
from pyproj import Transformer
from sqlalchemy import Engine

from geotranquil import __version__
from geotranquil.db import runs as db_runs
from geotranquil.db.counts import CountCube, CountQuery, count_cube
from geotranquil.db.maintenance import analyze_tables
from geotranquil.db.runs import RunRecord, insert_run
from geotranquil.distributed.cluster import ClusterOptions, TaskProgress, cluster_client
from geotranquil.distributed.hotspots import run_statistic
from geotranquil.errors import InvalidInput
from geotranquil.stats.rates import empirical_bayes_rate, raw_rate
from geotranquil.stats.registry import DEFAULT_STATISTIC, StatisticInput, statistic
from geotranquil.stats.weights import SpatialWeights

VALUES = ("counts", "rate", "eb_rate")


@dataclass(frozen=True)
class HotspotParams:
    """What to compute. ``k`` is the H3 ring size of the neighbourhood (the cell included)."""

    statistic: str = DEFAULT_STATISTIC
    resolution: int = 9
    start: date = date(2024, 11, 1)
    end: date = date(2026, 11, 1)
    bin: str = "week"
    categories: tuple[str, ...] | None = None
    value: str = "counts"
    k: int = 1
    distance_m: float | None = None  # a distance band (metres) instead of the k-ring
    permutations: int = 0
    seed: int = 42
    fdr: bool = True
    time_lags: int = 1
    timezone: str = "Europe/Paris"

    def check(self) -> None:
        statistic(self.statistic)  # a registered one, or InvalidInput
        if self.value not in VALUES:
            raise InvalidInput(f"valeur « {self.value} » inconnue : {', '.join(VALUES)}")
        if self.distance_m is not None and not 0 < self.distance_m <= 20_000:
            raise InvalidInput("bande de distance : entre 0 et 20 000 mètres")
        if not 1 <= self.k <= 5:
            raise InvalidInput("le voisinage k doit être entre 1 et 5 anneaux")
        if self.permutations < 0 or self.permutations > 9999:
            raise InvalidInput("permutations : entre 0 et 9 999")


@dataclass
class Timer:
    """Seconds spent per stage, in order."""

    stages: dict[str, float] = field(default_factory=dict)

    def measure(self, name: str, func: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = func()
        self.stages[name] = round(time.perf_counter() - started, 4)
        return result


def cell_values(cube: CountCube, value: str) -> npt.NDArray[np.float64]:
    """The per-cell, per-bin values the statistic sees: counts or rates per 1,000 residents."""
    counts = cube.counts.astype(float)
    if value == "counts":
        return counts
    rate = raw_rate if value == "rate" else empirical_bayes_rate
    out = np.column_stack([rate(counts[:, t], cube.population) for t in range(counts.shape[1])])
    return np.nan_to_num(out, nan=0.0)


def data_window(engine: Engine, params: HotspotParams) -> dict[str, Any]:
    """How much data the run saw: events in the period and the last ingest batch."""
    zone = ZoneInfo(params.timezone)
    with engine.connect() as conn:
        return db_runs.data_window(
            conn=conn,
            start=datetime.combine(params.start, datetime.min.time(), zone),
            end=datetime.combine(params.end, datetime.min.time(), zone),
            categories=params.categories,
        )


def load_cube(engine: Engine, params: HotspotParams) -> CountCube:
    """The count cube of the run's parameters."""
    query = CountQuery(
        resolution=params.resolution,
        start=params.start,
        end=params.end,
        bin=params.bin,
        categories=params.categories,
        timezone=params.timezone,
    )
    with engine.connect() as conn:
        return count_cube(conn=conn, query=query)


def store(
    engine: Engine,
    params: HotspotParams,
    cube: CountCube,
    cells: pd.DataFrame,
    timer: Timer,
    window: dict[str, Any],
) -> int:
    """Persist a computed run; return its id."""
    record = RunRecord(
        kind=params.statistic,
        resolution=params.resolution,
        period_start=params.start,
        period_end=params.end,
        bin=params.bin,
        categories=list(params.categories) if params.categories else None,
        value=params.value,
        neighbourhood=(
            {"type": "distance_band", "meters": params.distance_m, "time_lags": params.time_lags}
            if params.distance_m
            else {"type": "k_ring", "k": params.k, "time_lags": params.time_lags}
        ),
        parameters={"permutations": params.permutations, "seed": params.seed, "fdr": params.fdr},
        data_window=window,
        code_version=__version__,
        timings=timer.stages,
        n_cells=len(cube.cells),
    )
    with engine.begin() as conn:
        run_id: int = timer.measure("store", lambda: insert_run(conn=conn, run=record, cells=cells))
        db_runs.set_timings(conn=conn, run_id=run_id, timings=timer.stages)
    with engine.begin() as conn:  # the run's cells are read by tiles and reports
        analyze_tables(conn=conn, tables=("hotspot_runs", "hotspot_cells"))
    return run_id


@dataclass(frozen=True)
class RunSummary:
    """What a run produced, for the CLI and the API."""

    run_id: int
    statistic: str
    n_cells: int
    classes: dict[str, int]
    timings: dict[str, float]


def default_period(
    engine: Engine, weeks: int = 52, timezone: str = "Europe/Paris"
) -> tuple[date, date]:
    """The last ``weeks`` whole weeks of data: ends on the Monday after the last event."""
    with engine.connect() as conn:
        last = db_runs.last_event_day(conn=conn, timezone=timezone)
    if last is None:
        raise InvalidInput("aucun événement : ingérez des données avant de calculer")
    end = last + timedelta(days=7 - last.weekday())
    return end - timedelta(weeks=weeks), end


def compute_run(
    engine: Engine,
    params: HotspotParams,
    progress: Callable[[str], None] | None = None,
    *,
    cluster: ClusterOptions | None = None,
    task_progress: TaskProgress | None = None,
) -> RunSummary:
    """Aggregate, compute the statistic on land cells, store the run; return its summary.

    With ``cluster``, the statistic is computed by H3 parent on that Dask cluster (the same
    results, the same stored run; ``task_progress(done, total)`` follows its tasks); the
    counts are read from PostGIS here, once, and each task receives its partition's slice.
    """
    params.check()
    if cluster is not None:
        with cluster_client(cluster) as client:
            return _compute(engine, params, progress, (client, cluster, task_progress))
    return _compute(engine, params, progress, None)


def _compute(
    engine: Engine,
    params: HotspotParams,
    progress: Callable[[str], None] | None,
    on_cluster: tuple[Any, ClusterOptions, TaskProgress | None] | None,
) -> RunSummary:
    timer = Timer()

    def stage(name: str, func: Callable[[], Any]) -> Any:
        if progress:
            progress(name)
        return timer.measure(name, func)

    window = stage("data_window", lambda: data_window(engine, params))
    full = stage("aggregate", lambda: load_cube(engine, params))
    cube = _land_only(full)
    values = stage("values", lambda: cell_values(cube, params.value))
    weights = stage("neighbours", lambda: neighbourhood(cube.cells, params))
    stat = statistic(params.statistic)
    data = StatisticInput(
        values=values,
        weights=weights,
        permutations=params.permutations,
        seed=params.seed,
        fdr=params.fdr,
        time_lags=params.time_lags,
    )
    if on_cluster is None:
        result = stage("statistic", lambda: stat.run(data))
    else:
        client, options, tasks = on_cluster
        result = stage(
            "statistic",
            lambda: run_statistic(
                params.statistic, data, cube.cells, client, options.parent_resolution, tasks
            ),
        )
    cells = pd.DataFrame({"h3": cube.cells, "value": data.total, **result.columns})
    run_id = store(engine, params, cube, cells, timer, window)
    return RunSummary(run_id, params.statistic, len(cube.cells), result.classes, timer.stages)


def neighbourhood(cells: npt.NDArray[np.int64], params: HotspotParams) -> SpatialWeights:
    """The k-ring of each cell, or every cell whose centre is within ``distance_m`` metres.

    Distances use an azimuthal equidistant projection centred on the cells, so they are true
    metres anywhere (no national projection assumed).
    """
    if params.distance_m is None:
        return SpatialWeights.from_h3(cells, k=params.k)
    centres = np.array([h3i.cell_to_latlng(int(c)) for c in cells])
    lat0, lon0 = centres.mean(axis=0)
    to_m = Transformer.from_crs(
        4326, f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +units=m", always_xy=True
    )
    x, y = to_m.transform(centres[:, 1], centres[:, 0])
    return SpatialWeights.from_distance_band(x, y, params.distance_m)


def _land_only(cube: CountCube) -> CountCube:
    """Drop the cells with no land (H3 parents added at sea): their zeros are not places."""
    keep = cube.land_share > 0
    return CountCube(
        cells=cube.cells[keep],
        bins=cube.bins,
        counts=cube.counts[keep],
        land_share=cube.land_share[keep],
        area_m2=cube.area_m2[keep],
        population=cube.population[keep],
    )
