"""Rolling-origin backtest (no leakage, exact scores, enough origins) and points -> ForecastData."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, timedelta
from typing import Self

import h3
import numpy as np
import pandas as pd
import pytest
from shapely import box

from geotranquil.forecast.backtest import origins_of, rolling_origin
from geotranquil.forecast.base import FloatArray, ForecastData, Forecaster
from geotranquil.forecast.baselines import (
    KernelDensity,
    NaiveRecent,
    NaiveYear,
    ProspectiveHotspot,
)
from geotranquil.forecast.boosting import BoostedForecaster, EnsembleForecaster
from geotranquil.forecast.points import convex_hull_area, forecast_data_from_points
from geotranquil.forecast.sepp import SeppGrid
from geotranquil.forecast.simulate import forecast_data_from_events

START = date(2024, 1, 1)


def _grid(k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """H3 resolution-9 cells of a k-disk in Marseille and their centroids in Lambert-93."""
    from pyproj import Transformer

    centre = h3.latlng_to_cell(43.2965, 5.3698, 9)
    cells = np.array(sorted(h3.str_to_int(c) for c in h3.grid_disk(centre, k)), dtype=np.int64)
    lat, lon = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells]).T
    x, y = Transformer.from_crs(4326, 2154, always_xy=True).transform(lon, lat)
    return cells, np.column_stack([x, y])


def _events(n_cells: int, xy: np.ndarray, n_periods: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.6, 0.4, n_cells)
    rows = []
    for i in range(n_cells):
        k = rng.poisson(rate[i] * n_periods)
        t = rng.uniform(0, 7 * n_periods, k)
        rows.append(pd.DataFrame({"t": t, "x": xy[i, 0], "y": xy[i, 1], "cell": i}))
    return pd.concat(rows, ignore_index=True)


class Recorder:
    """Wraps a forecaster and records every prediction by origin (the training length)."""

    def __init__(self, inner: Forecaster, log: dict[tuple[str, int], FloatArray]) -> None:
        self.inner, self.log, self.name = inner, log, inner.name
        self._t = -1

    def fit(self, data: ForecastData) -> Self:
        self._t = data.n_periods
        self.inner = self.inner.fit(data)
        return self

    def predict(self, horizon: int = 1) -> FloatArray:
        risk = self.inner.predict(horizon)
        self.log[(self.name, self._t)] = np.asarray(risk, dtype=np.float64).copy()
        return risk


ALL_METHODS: list[Callable[[], Forecaster]] = [
    lambda: NaiveRecent(weeks=4),
    lambda: NaiveYear(),
    lambda: KernelDensity(bandwidth_m=300),
    lambda: ProspectiveHotspot(bandwidth_m=400, weeks=8),
    lambda: SeppGrid(max_iter=30),
    lambda: BoostedForecaster(max_iter=30),
    lambda: EnsembleForecaster([BoostedForecaster(max_iter=30), KernelDensity(bandwidth_m=300)]),
]


def test_no_leakage_planted_future_events() -> None:
    cells, xy = _grid(3)
    n_periods, origin = 62, 57
    events = _events(len(cells), xy, n_periods, seed=1)
    data = forecast_data_from_events(events, cells, xy, 7, START, n_periods)
    # plant a burst of future events (periods >= origin) in a cell that was quiet
    quiet = int(np.argmin(data.counts[:, :origin].sum(axis=1)))
    t_future = np.linspace(7 * origin + 0.5, 7 * n_periods - 0.5, 40)
    planted = pd.DataFrame({"t": t_future, "x": xy[quiet, 0], "y": xy[quiet, 1], "cell": quiet})
    leaked = forecast_data_from_events(
        pd.concat([events, planted], ignore_index=True), cells, xy, 7, START, n_periods
    )
    assert leaked.counts[:, origin:].sum() == data.counts[:, origin:].sum() + 40
    assert np.array_equal(leaked.counts[:, :origin], data.counts[:, :origin])

    logs: list[dict[tuple[str, int], FloatArray]] = [{}, {}]
    for d, log in zip((data, leaked), logs, strict=True):
        methods = [lambda m=m, log=log: Recorder(m(), log) for m in ALL_METHODS]
        res = rolling_origin(d, methods, first_origin=origin - 2, n_origins=3)
        assert res.origins == [origin - 2, origin - 1, origin]
    names = {name for name, _ in logs[0]}
    assert len(names) == len(ALL_METHODS)
    assert logs[0].keys() == logs[1].keys()
    for key, risk in logs[0].items():
        np.testing.assert_array_equal(risk, logs[1][key], err_msg=str(key))


class Fixed:
    """A fixed-risk dummy forecaster; refuses to be fitted twice (fresh instances expected)."""

    name = "fixed"

    def __init__(self) -> None:
        self.fitted = False

    def fit(self, data: ForecastData) -> Self:
        assert not self.fitted, "the backtest reused a fitted instance"
        self.fitted = True
        return self

    def predict(self, horizon: int = 1) -> FloatArray:
        return np.array([2.0, 1.0, 0.5, 1.0]) * horizon


def _tiny(n_periods: int) -> ForecastData:
    counts = np.tile(np.array([[2], [1], [0], [1]], dtype=np.int64), n_periods)
    periods = [START + timedelta(days=7 * k) for k in range(n_periods)]
    events = pd.DataFrame({"t": [], "x": [], "y": [], "cell": []})
    return ForecastData(np.arange(4), np.zeros(4), np.zeros(4), counts, periods, 7, events)


def test_exact_scores_on_a_tiny_example() -> None:
    data = _tiny(10)
    res = rolling_origin(data, [Fixed()], first_origin=8)
    assert res.origins == [8, 9]
    s = res.scores
    assert set(s.columns) == {"method", "origin", "period_start", "metric", "value"}
    first = s[s["origin"] == 8].set_index("metric")["value"]
    # 4 equal cells: every share up to 20 % flags one cell (the top one, cell 0: 2 of 4 events)
    for p in (1, 5, 10, 20):
        assert first[f"hit_{p}"] == pytest.approx(0.5)
        assert first[f"pai_{p}"] == pytest.approx(2.0)
        assert first[f"pei_{p}"] == pytest.approx(1.0)
    # deviance: cells 0, 1, 3 exact; cell 2: 2 (0 - (0 - 0.5)) = 1 -> mean 1/4
    assert first["deviance"] == pytest.approx(0.25)
    assert first["fit_s"] >= 0 and first["predict_s"] >= 0
    assert s[s["origin"] == 9]["period_start"].iloc[0] == START + timedelta(days=63)
    summary = res.summary()
    assert list(summary.index) == ["fixed"]
    assert summary.loc["fixed", "pai_5"] == pytest.approx(2.0)
    assert summary.loc["fixed", "n_origins"] == 2
    shares, hits = res.coverage("fixed")
    assert shares[0] == 0 and shares[-1] == 1
    assert hits[25] == pytest.approx(0.5) and hits[-1] == pytest.approx(1.0)
    table = res.format_table()
    assert "méthode" in table and "PAI 5 %" in table and "fixed" in table


def test_horizon_two_scores_the_sum_of_two_periods() -> None:
    data = _tiny(10)
    res = rolling_origin(data, [Fixed], first_origin=7, horizon=2, step=2)
    assert res.origins == [7]  # 7 + 2 <= 10, 9 + 2 > 10
    row = res.scores.set_index("metric")["value"]
    # forecast [4, 2, 1, 2] against [4, 2, 0, 2]: only cell 2 deviates, 2 (0 + 1) / 4
    assert row["deviance"] == pytest.approx(0.5)


def test_at_least_26_origins_when_the_data_allow() -> None:
    data = _tiny(80)
    res = rolling_origin(data, [Fixed], first_origin=52)
    assert len(res.origins) >= 26
    assert res.origins == list(range(52, 80))
    assert origins_of(80, first_origin=52, horizon=4) == list(range(52, 77))


def test_progress_and_errors() -> None:
    data = _tiny(10)
    seen: list[tuple[str, int, int]] = []
    rolling_origin(data, [Fixed], first_origin=8, progress=lambda *a: seen.append(a))
    assert seen == [("fixed", 1, 2), ("fixed", 2, 2)]
    with pytest.raises(ValueError, match="two methods"):
        rolling_origin(data, [Fixed, Fixed], first_origin=8)
    with pytest.raises(ValueError, match="no origin"):
        rolling_origin(data, [Fixed], first_origin=10)


# ------------------------------------------------------------------ points -> ForecastData


def test_points_exact_counts_and_dropped() -> None:
    area = box(5.36, 43.29, 5.39, 43.31)
    a = h3.latlng_to_cell(43.2951, 5.3745, 9)
    b = h3.latlng_to_cell(43.3050, 5.3800, 9)
    pts = pd.DataFrame(
        {
            "lon": [5.3745, 5.3745, 5.3800, 5.3800, 6.0, np.nan, 5.3745],
            "lat": [43.2951, 43.2951, 43.3050, 43.3050, 43.0, 43.3, 43.2951],
            "time": pd.to_datetime(
                [
                    "2025-01-06 00:00",  # Monday: period 0
                    "2025-01-19 23:59",  # Sunday: period 1
                    "2025-01-08 12:00",
                    "2025-01-27 08:00",  # period 3
                    "2025-01-08 00:00",  # outside the area
                    "2025-01-08 00:00",  # no position
                    None,  # no time
                ]
            ),
        }
    )
    data = forecast_data_from_points(pts, area)
    assert data.periods == [date(2025, 1, 6) + timedelta(days=7 * k) for k in range(4)]
    ia = int(np.searchsorted(data.cells, h3.str_to_int(a)))
    ib = int(np.searchsorted(data.cells, h3.str_to_int(b)))
    assert data.counts[ia].tolist() == [1, 1, 0, 0]
    assert data.counts[ib].tolist() == [1, 0, 0, 1]
    assert data.counts.sum() == 4
    assert data.events.attrs["dropped"] == 2
    assert data.events.attrs["dropped_time"] == 1
    assert len(data.events) == 4
    assert sorted(data.events["t"].round(4).tolist()) == [0.0, 2.5, 13.9993, 21.3333]
    # the events' cells and periods agree with the counts
    rebuilt = np.zeros_like(data.counts)
    np.add.at(rebuilt, (data.events["cell"], (data.events["t"] // 7).astype(int)), 1)
    assert np.array_equal(rebuilt, data.counts)
    # every cell centre lies in the area, and projected x/y are in metres (UTM 31N)
    assert data.events.attrs["crs"] == 32631
    assert 600_000 < data.x.mean() < 750_000


def test_points_tz_aware_times_daily_periods_and_start() -> None:
    area = box(-74.02, 40.70, -73.97, 40.75)
    pts = pd.DataFrame(
        {
            "lon": [-74.0, -73.99, -73.98],
            "lat": [40.71, 40.72, 40.73],
            "time": pd.to_datetime(
                ["2015-03-02 23:30", "2015-03-03 01:00", "2015-03-01 12:00"]
            ).tz_localize("America/New_York"),
        }
    )
    data = forecast_data_from_points(
        pts, area, period_days=1, start=date(2015, 3, 2), metric_crs=32618
    )
    # in UTC: 03-03 04:30, 03-03 06:00 (period 1), 03-01 17:00 (before start: dropped)
    assert data.periods == [date(2015, 3, 2), date(2015, 3, 3)]
    assert data.counts.sum(axis=0).tolist() == [0, 2]
    assert data.events.attrs["dropped_time"] == 1
    assert data.events.attrs["crs"] == 32618


def test_convex_hull_area_contains_the_points() -> None:
    rng = np.random.default_rng(0)
    pts = pd.DataFrame({"lon": rng.uniform(-74, -73.9, 50), "lat": rng.uniform(40.6, 40.7, 50)})
    area = convex_hull_area(pts, buffer_m=200)
    data = forecast_data_from_points(pts.assign(time=pd.Timestamp("2015-01-01")), area)
    assert data.events.attrs["dropped"] <= 2  # a point near the edge may sit in an outer cell
    # a 200 m buffer grows a ~8 x 11 km hull by about 200 m * perimeter
    hull_only = convex_hull_area(pts, buffer_m=1e-6)
    assert area.area > hull_only.area
    assert math.isclose(area.centroid.x, hull_only.centroid.x, abs_tol=0.01)
