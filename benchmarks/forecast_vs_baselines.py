"""Forecasting where incidents happen next week: our models against the literature's baselines.

Data: the real New York City motor-vehicle thefts of 2014-2015
(``../shared/data/incidents/nyc_vehicle_thefts_2014_2015.csv``, see its README; 19,047 events,
``date_single`` as the time, WGS84 ``longitude``/``latitude``). The data carry no city outline,
so the study area is the convex hull of the points buffered by 200 m
(:func:`geotranquil.forecast.points.convex_hull_area`); it also covers water and parks, cells
that never see a theft: every method is ranked on the same grid, so the comparison is fair, but
PAI values run higher than on a land-only grid. H3 resolution 9 (about 0.1 km² per cell),
weekly periods from Monday 2013-12-30; the last, partial week is cut off.

Backtest (:func:`geotranquil.forecast.backtest.rolling_origin`): one origin per week of 2015,
from ISO week 1 (Monday 2014-12-29) to the last full week; at each origin every method is
fitted afresh on all the weeks before it (2014 and the 2015 weeks already past) and forecasts
the next week (horizon 1), scored by hit rate, PAI and PEI at 1, 5, 10 and 20 % of the area,
the Poisson deviance, and the fit and predict seconds.

* baselines (open_cp-style): ``NaiveRecent(weeks=4)``, ``NaiveYear()``,
  ``KernelDensity(bandwidth_m=300)``, ``ProspectiveHotspot(bandwidth_m=400, weeks=8)``,
  ``SeppGrid()`` (self-exciting point process, Mohler et al.);
* ours: ``MultiScaleForecaster()`` (:mod:`geotranquil.forecast.stacking`: a Poisson
  regression on kernel densities at several bandwidths, whose settings were chosen on a
  rolling validation inside 2014 only), ``BoostedForecaster()`` (Poisson gradient
  boosting on spatio-temporal features, the previous model) and an ``EnsembleForecaster`` of
  the multi-scale model with the baseline that did best in a *validation* backtest on the last
  12 weeks of 2014 only (so 2015 plays no part in the choice).

"ours" in the RESULT lines is the best of our three models on that metric, "best_baseline" the
best of the five baselines on it::

    RESULT forecast_pai5 ours=... best_baseline=... ratio=<ours/best> goal=1.2 PASS|FAIL
    RESULT forecast_pai1 ours=... best_baseline=... ratio=... goal=1 PASS|FAIL
    RESULT forecast_pai10 ours=... best_baseline=... ratio=... goal=1 PASS|FAIL

``--smoke``: the points within 3 km of the median point, 4 origins (the validation on 3).
``--synthetic``: the same comparison, afterwards, on a Marseille-like synthetic set (H3
resolution-9 cells around the Vieux-Port, a few dense centres, a self-exciting process drawn
by :func:`geotranquil.forecast.simulate.simulate_sepp`), reported in its own table (no RESULT
line). ``--out`` (default ``$GEOTRANQUIL_BENCH_OUT`` or ``benchmarks/out``) receives the summary
table as CSV, the coverage curves as PNG and a JSON of the results.

Usage, from the repository root::

    .venv/bin/python -m benchmarks.forecast_vs_baselines
    .venv/bin/python -m benchmarks.forecast_vs_baselines --smoke
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geotranquil.config import shared_data_dir
from geotranquil.forecast.backtest import BacktestResult, rolling_origin
from geotranquil.forecast.base import ForecastData, Forecaster
from geotranquil.forecast.baselines import (
    KernelDensity,
    NaiveRecent,
    NaiveYear,
    ProspectiveHotspot,
)
from geotranquil.forecast.boosting import BoostedForecaster, EnsembleForecaster
from geotranquil.forecast.points import convex_hull_area, forecast_data_from_points
from geotranquil.forecast.sepp import SeppGrid
from geotranquil.forecast.stacking import MultiScaleForecaster

NAME = "forecast_vs_baselines"
FILE = "nyc_vehicle_thefts_2014_2015.csv"
RESOLUTION = 9
BUFFER_M = 200.0
SEED = 20250101
VALIDATION_WEEKS = 12
GOALS = {"pai_5": 1.2, "pai_1": 1.0, "pai_10": 1.0}
SMOKE_RADIUS_M = 3000.0
SMOKE_ORIGINS = 4

BASELINES: dict[str, Callable[[], Forecaster]] = {
    "naive_recent": lambda: NaiveRecent(weeks=4),
    "naive_year": lambda: NaiveYear(),
    "kde": lambda: KernelDensity(bandwidth_m=300),
    "prospective_hotspot": lambda: ProspectiveHotspot(bandwidth_m=400, weeks=8),
    "sepp": lambda: SeppGrid(),
}
OURS = ("multiscale", "gbm", "ensemble")


def incidents_dir() -> Path:
    """``shared/data/incidents`` (see :func:`geotranquil.config.shared_data_dir`)."""
    env = os.environ.get("GEOTRANQUIL_INCIDENTS_DIR")
    candidates = [Path(env)] if env else []
    data = shared_data_dir()
    if data is not None:
        candidates.append(data / "incidents")
    for c in candidates:
        if (c / FILE).is_file():
            return c
    raise SystemExit(f"{FILE} not found in {[str(c) for c in candidates]}")


def load_points(path: Path) -> pd.DataFrame:
    """lon, lat, time of every theft (rows without a usable date or position stay NaN/NaT)."""
    raw = pd.read_csv(path, usecols=["uid", "date_single", "longitude", "latitude"])
    return pd.DataFrame(
        {
            "lon": pd.to_numeric(raw["longitude"], errors="coerce"),
            "lat": pd.to_numeric(raw["latitude"], errors="coerce"),
            "time": pd.to_datetime(raw["date_single"], format="%Y-%m-%d %H:%M", errors="coerce"),
        }
    )


def smoke_subset(points: pd.DataFrame) -> pd.DataFrame:
    """The points within ``SMOKE_RADIUS_M`` of the median point (a few hundred cells)."""
    lon0, lat0 = points["lon"].median(), points["lat"].median()
    dx = (points["lon"] - lon0) * 111_320 * np.cos(np.radians(lat0))
    dy = (points["lat"] - lat0) * 110_540
    return points[np.hypot(dx, dy) <= SMOKE_RADIUS_M].reset_index(drop=True)


def full_weeks(data: ForecastData, last_day: date) -> ForecastData:
    """Cut the periods that end after ``last_day`` (the partial last week)."""
    n = sum(p + timedelta(days=data.period_days - 1) <= last_day for p in data.periods)
    return data.until(n)


def progress(name: str, i: int, n: int) -> None:
    print(f"  {name:<20} origin {i}/{n}", file=sys.stderr, flush=True)


def choose_partner(data: ForecastData, first_test: int, n_val: int) -> tuple[str, pd.DataFrame]:
    """The baseline with the best mean PAI at 5 % on the ``n_val`` weeks before ``first_test``."""
    past = data.until(first_test)
    val = rolling_origin(
        past,
        list(BASELINES.values()),
        first_origin=first_test - n_val,
        progress=progress,
    )
    summary = val.summary()
    return str(summary["pai_5"].idxmax()), summary


def run_backtest(
    data: ForecastData, first_origin: int, n_origins: int | None, partner: str
) -> BacktestResult:
    """Every baseline and our three models, rolling origins from ``first_origin``."""
    make_partner = BASELINES[partner]
    methods: list[Callable[[], Forecaster]] = [
        *BASELINES.values(),
        lambda: MultiScaleForecaster(),
        lambda: BoostedForecaster(seed=SEED),
        lambda: EnsembleForecaster([MultiScaleForecaster(), make_partner()]),
    ]
    return rolling_origin(
        data, methods, first_origin=first_origin, n_origins=n_origins, progress=progress
    )


def result_lines(summary: pd.DataFrame) -> list[str]:
    lines = []
    for metric in ("pai_5", "pai_1", "pai_10"):
        ours = float(summary.loc[list(OURS), metric].max())
        best = float(summary.loc[list(BASELINES), metric].max())
        ratio = ours / best if best > 0 else float("inf")
        goal = GOALS[metric]
        verdict = "PASS" if ratio >= goal else "FAIL"
        tag = metric.replace("_", "")
        lines.append(
            f"RESULT forecast_{tag} ours={ours:.3f} best_baseline={best:.3f} "
            f"ratio={ratio:.3f} goal={goal:g} {verdict}"
        )
    return lines


def coverage_png(result: BacktestResult, path: Path, title: str) -> None:
    """Mean coverage curves of every method (matplotlib Figure API, French labels)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.5), layout="constrained")
    full, zoom = fig.subplots(1, 2)
    for method in result.methods:
        shares, hits = result.coverage(method)
        style = "-" if method in OURS else "--"
        for ax in (full, zoom):
            ax.plot(100 * shares, 100 * hits, style, label=method)
    full.plot([0, 100], [0, 100], ":", color="grey", label="au hasard")
    full.set_xlim(0, 100)
    zoom.set_xlim(0, 20)
    zoom.set_ylim(
        0, max(float(np.nanmax(result.coverage(m)[1][:21])) for m in result.methods) * 110
    )
    for ax in (full, zoom):
        ax.set_xlabel("part de la surface signalée (%)")
        ax.set_ylabel("part des événements de la semaine (%)")
        ax.grid(alpha=0.3)
    full.set_title("Courbe de couverture moyenne")
    zoom.set_title("Détail : 0 à 20 % de la surface")
    zoom.legend(fontsize=8)
    fig.suptitle(title)
    fig.savefig(path, dpi=110)


def synthetic_data(smoke: bool) -> ForecastData:
    """A Marseille-like self-exciting incident set on H3 resolution-9 cells (seeded)."""
    import h3
    from pyproj import Transformer

    from geotranquil.forecast.simulate import forecast_data_from_events, simulate_sepp

    centre = h3.latlng_to_cell(43.2965, 5.3698, RESOLUTION)  # Vieux-Port
    disk = sorted(h3.str_to_int(c) for c in h3.grid_disk(centre, 8 if smoke else 30))
    cells = np.array(disk, dtype=np.int64)
    lat, lon = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells]).T
    x, y = Transformer.from_crs(4326, 2154, always_xy=True).transform(lon, lat)
    xy = np.column_stack([x, y])
    rng = np.random.default_rng(SEED)
    hubs = xy[rng.choice(len(xy), size=6, replace=False)]
    d2 = ((xy[:, None, :] - hubs[None, :, :]) ** 2).sum(axis=2)
    surface = 0.15 + np.exp(-d2 / (2 * 600.0**2)).sum(axis=1) * 3
    mu = surface / surface.sum() * (0.4 if smoke else 6.0)  # events per day in all
    days = 7 * 104
    area = float(h3.average_hexagon_area(RESOLUTION, unit="m^2"))
    events = simulate_sepp(xy, mu, 0.35, 0.2, 150.0, days, SEED, area)
    return forecast_data_from_events(events, cells, xy, 7, date(2024, 1, 1), 104)


def comparison(
    data: ForecastData, label: str, smoke: bool, out: Path, stem: str
) -> tuple[BacktestResult, str, pd.DataFrame]:
    first = 52
    n_val = 3 if smoke else VALIDATION_WEEKS
    print(
        f"\n== {label}: {data.n_cells} cells, {data.n_periods} weeks, "
        f"{int(data.counts.sum())} events",
        flush=True,
    )
    t0 = time.perf_counter()
    partner, val = choose_partner(data, first, n_val)
    print(
        f"validation ({n_val} weeks before the first origin), mean PAI 5 %: "
        + ", ".join(f"{m}={v:.2f}" for m, v in val["pai_5"].items())
        + f" -> ensemble partner: {partner}"
    )
    result = run_backtest(data, first, SMOKE_ORIGINS if smoke else None, partner)
    summary = result.summary()
    print(
        f"origins: {len(result.origins)} (from {data.periods[result.origins[0]]} to "
        f"{data.periods[result.origins[-1]]}), {time.perf_counter() - t0:.0f} s in all"
    )
    print(result.format_table())
    out.mkdir(parents=True, exist_ok=True)
    summary.to_csv(out / f"{stem}.csv", float_format="%.6g")
    coverage_png(result, out / f"{stem}_coverage.png", label)
    return result, partner, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--smoke", action="store_true", help="a small area, 4 origins")
    parser.add_argument("--synthetic", action="store_true", help="also a Marseille-like set")
    default_out = os.environ.get("GEOTRANQUIL_BENCH_OUT", Path(__file__).resolve().parent / "out")
    parser.add_argument("--out", type=Path, default=Path(default_out))
    args = parser.parse_args(argv)

    points = load_points(incidents_dir() / FILE)
    if args.smoke:
        points = smoke_subset(points)
    area = convex_hull_area(points, buffer_m=BUFFER_M)
    data = forecast_data_from_points(points, area, resolution=RESOLUTION, period_days=7)
    data = full_weeks(data, date(2015, 12, 31))
    print(
        f"NYC vehicle thefts: {len(points)} rows, "
        f"{data.events.attrs['dropped']} outside the cells, "
        f"{data.events.attrs['dropped_time']} without a usable time"
    )
    first_2015 = date.fromisocalendar(2015, 1, 1)
    first = data.periods.index(first_2015)
    assert first == 52, first

    report: dict[str, Any] = {"name": NAME, "smoke": args.smoke}
    result, partner, summary = comparison(
        data, "Vols de véhicules, New York (2015)", args.smoke, args.out, NAME
    )
    report |= {
        "partner": partner,
        "origins": len(result.origins),
        "summary": json.loads(summary.to_json(orient="index")),
    }
    if args.synthetic:
        syn = synthetic_data(args.smoke)
        _, syn_partner, syn_summary = comparison(
            syn, "Jeu synthétique type Marseille", args.smoke, args.out, f"{NAME}_synthetic"
        )
        report["synthetic"] = {
            "partner": syn_partner,
            "summary": json.loads(syn_summary.to_json(orient="index")),
        }
        print("synthetic: " + " | ".join(result_lines(syn_summary)).replace("RESULT ", ""))

    lines = result_lines(summary)
    report["results"] = lines
    (args.out / f"{NAME}.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    pais = summary[["pai_1", "pai_5", "pai_10"]].to_numpy(dtype=float)
    for m in OURS:
        row = pais[list(summary.index).index(m)]
        print(f"{m}: mean PAI 1/5/10 % = " + "/".join(f"{v:.2f}" for v in row))
    for line in lines:
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
