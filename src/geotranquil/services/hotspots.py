"""Hot-spot runs: aggregate in PostGIS, compute in ``stats/``, persist the results.

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
from psycopg.types.json import Jsonb
from pyproj import Transformer
from sqlalchemy import Engine, text

from geotranquil import __version__
from geotranquil.db.counts import CountCube, CountQuery, count_cube
from geotranquil.db.maintenance import analyze_tables
from geotranquil.db.runs import RunRecord, insert_run
from geotranquil.errors import InvalidInput
from geotranquil.stats.emerging import emerging_hot_spots
from geotranquil.stats.getis_ord import gi_star
from geotranquil.stats.moran import local_moran
from geotranquil.stats.rates import empirical_bayes_rate, raw_rate
from geotranquil.stats.weights import SpatialWeights

VALUES = ("counts", "rate", "eb_rate")
STATISTICS = ("gi_star", "local_moran", "emerging")


@dataclass(frozen=True)
class HotspotParams:
    """What to compute. ``k`` is the H3 ring size of the neighbourhood (the cell included)."""

    statistic: str = "gi_star"
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
        if self.statistic not in STATISTICS:
            raise InvalidInput(
                f"statistique « {self.statistic} » inconnue : {', '.join(STATISTICS)}"
            )
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
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*) AS events, count(geom) AS located, max(batch_id) AS last_batch, "
                "min(occurred_at) AS first_event, max(occurred_at) AS last_event FROM events "
                "WHERE occurred_at >= :s AND occurred_at < :e "
                "AND (CAST(:c AS text[]) IS NULL OR category = ANY(CAST(:c AS text[])))"
            ),
            {
                "s": datetime.combine(params.start, datetime.min.time(), ZoneInfo(params.timezone)),
                "e": datetime.combine(params.end, datetime.min.time(), ZoneInfo(params.timezone)),
                "c": list(params.categories) if params.categories else None,
            },
        ).one()
    out = dict(row._mapping)
    for key in ("first_event", "last_event"):
        out[key] = out[key].isoformat() if out[key] is not None else None
    return out


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
        conn.execute(
            text("UPDATE hotspot_runs SET timings = :t WHERE id = :i"),
            {"t": Jsonb(timer.stages), "i": run_id},
        )
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
        last = conn.execute(
            text("SELECT max(occurred_at AT TIME ZONE :tz)::date FROM events"), {"tz": timezone}
        ).scalar()
    if last is None:
        raise InvalidInput("aucun événement : ingérez des données avant de calculer")
    end = last + timedelta(days=7 - last.weekday())
    return end - timedelta(weeks=weeks), end


def compute_run(
    engine: Engine, params: HotspotParams, progress: Callable[[str], None] | None = None
) -> RunSummary:
    """Aggregate, compute the statistic on land cells, store the run; return its summary."""
    params.check()
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
    total = values.sum(axis=1)
    cells = pd.DataFrame({"h3": cube.cells, "value": total})
    if params.statistic == "gi_star":
        g = stage(
            "statistic",
            lambda: gi_star(
                total,
                weights,
                permutations=params.permutations,
                seed=params.seed,
                fdr=params.fdr,
            ),
        )
        cells = cells.assign(
            z=g.z, p=g.p_norm, p_sim=g.p_sim, significant=g.gi_bin != 0, gi_bin=g.gi_bin
        )
        classes = {GI_BIN_LABELS_FR[b]: int((g.gi_bin == b).sum()) for b in range(3, -4, -1)}
    elif params.statistic == "local_moran":
        m = stage(
            "statistic",
            lambda: local_moran(
                total,
                weights,
                permutations=params.permutations or 999,  # LISA needs permutations
                seed=params.seed,
                fdr=params.fdr,
            ),
        )
        cells = cells.assign(
            z=m.z_sim,
            p=m.p_norm,
            p_sim=m.p_sim,
            significant=m.cluster != "Not significant",
            cluster=m.cluster,
        )
        classes = {
            str(k): int(v) for k, v in zip(*np.unique(m.cluster, return_counts=True), strict=True)
        }
    else:
        e = stage(
            "statistic",
            lambda: emerging_hot_spots(values, weights, time_lags=params.time_lags, fdr=params.fdr),
        )
        cells = cells.assign(
            z=e.z[:, -1],
            p=e.p[:, -1],
            significant=e.significant[:, -1] != 0,
            pattern=e.pattern,
            trend_z=e.trend_z,
            trend_p=e.trend_p,
            hot_bins=e.n_hot,
            cold_bins=e.n_cold,
        )
        classes = {k: v for k, v in e.counts().items() if v}
    run_id = store(engine, params, cube, cells, timer, window)
    return RunSummary(run_id, params.statistic, len(cube.cells), classes, timer.stages)


#: French labels of the Gi* confidence bins.
GI_BIN_LABELS_FR = {
    3: "Point chaud, confiance 99 %",
    2: "Point chaud, confiance 95 %",
    1: "Point chaud, confiance 90 %",
    0: "Non significatif",
    -1: "Point froid, confiance 90 %",
    -2: "Point froid, confiance 95 %",
    -3: "Point froid, confiance 99 %",
}


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
