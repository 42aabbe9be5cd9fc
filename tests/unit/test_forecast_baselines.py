"""The forecasting baselines on tiny hand-computed examples, and that they see only the past."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from geotranquil.forecast.base import ForecastData, Forecaster
from geotranquil.forecast.baselines import (
    KernelDensity,
    NaiveRecent,
    NaiveYear,
    ProspectiveHotspot,
    cell_spacing,
    quartic_kernel,
    year_lag,
)

LINE_X = np.array([0.0, 100.0, 200.0, 300.0, 400.0])  # five cells 100 m apart on a line


def make_data(
    counts: np.ndarray,
    x: np.ndarray | None = None,
    events: pd.DataFrame | None = None,
    period_days: int = 7,
) -> ForecastData:
    n, t = counts.shape
    x = np.arange(n, dtype=float) * 100.0 if x is None else x
    if events is None:
        events = pd.DataFrame({"t": pd.Series(dtype=float), "x": 0.0, "y": 0.0, "cell": 0})
    return ForecastData(
        cells=np.arange(n, dtype=np.int64) + 1000,
        x=np.asarray(x, dtype=float),
        y=np.zeros(n),
        counts=np.asarray(counts, dtype=np.int64),
        periods=[date(2024, 1, 1) + timedelta(days=period_days * k) for k in range(t)],
        period_days=period_days,
        events=events,
    )


def data_from_events(
    t: list[float], cell: list[int], x: np.ndarray, n_periods: int, period_days: int = 7
) -> ForecastData:
    """Events at the centroids of their cells; counts derived from them."""
    counts = np.zeros((len(x), n_periods), dtype=np.int64)
    np.add.at(counts, (np.asarray(cell), (np.asarray(t) // period_days).astype(int)), 1)
    events = pd.DataFrame({"t": t, "x": x[cell], "y": 0.0, "cell": cell})
    return make_data(counts, x, events, period_days)


# --- NaiveRecent ---------------------------------------------------------------------------


def test_naive_recent_by_hand() -> None:
    counts = np.array([[9, 1, 2, 3], [0, 0, 0, 6], [5, 5, 0, 0]])
    m = NaiveRecent(weeks=3).fit(make_data(counts))
    # last three periods: (1+2+3)/3 = 2, (0+0+6)/3 = 2, (5+0+0)/3 = 5/3
    assert m.predict().tolist() == pytest.approx([2.0, 2.0, 5 / 3])
    assert m.predict(horizon=4).tolist() == pytest.approx([8.0, 8.0, 20 / 3])
    # default: 4 periods -> (9+1+2+3)/4 = 3.75, 6/4, 10/4
    assert NaiveRecent().fit(make_data(counts)).predict().tolist() == [3.75, 1.5, 2.5]
    # more periods asked than exist: the mean of all of them
    assert NaiveRecent(weeks=10).fit(make_data(counts)).predict().tolist() == [3.75, 1.5, 2.5]


def test_naive_recent_errors() -> None:
    with pytest.raises(ValueError):
        NaiveRecent(weeks=0)
    with pytest.raises(RuntimeError, match="not fitted"):
        NaiveRecent().predict()
    with pytest.raises(ValueError, match="horizon"):
        NaiveRecent().fit(make_data(np.ones((2, 3)))).predict(horizon=0)


# --- NaiveYear -----------------------------------------------------------------------------


def test_year_lag() -> None:
    assert (year_lag(7), year_lag(1), year_lag(30), year_lag(365)) == (52, 365, 12, 1)


def test_naive_year_weekly() -> None:
    t = 60
    counts = np.vstack([np.arange(t), 2 * np.arange(t)])  # period k holds k (and 2k)
    m = NaiveYear().fit(make_data(counts))
    # target period 60 -> period 60 - 52 = 8; horizon 3 -> periods 8 + 9 + 10 = 27
    assert m.predict().tolist() == [8.0, 16.0]
    assert m.predict(horizon=3).tolist() == [27.0, 54.0]
    assert m.lag_ == 52


def test_naive_year_daily() -> None:
    counts = np.arange(400)[None, :]
    m = NaiveYear().fit(make_data(counts, period_days=1))
    assert m.predict().tolist() == [35.0]  # day 400 - 365
    assert m.predict(horizon=2).tolist() == [71.0]  # 35 + 36


def test_naive_year_horizon_longer_than_a_year_repeats_the_last_year() -> None:
    # monthly periods: a year is 12 periods; 14 periods of history: months 2..13 are the year
    counts = np.arange(14)[None, :]
    m = NaiveYear().fit(make_data(counts, period_days=30))
    assert m.predict(horizon=12).tolist() == [float(sum(range(2, 14)))]
    assert m.predict(horizon=14).tolist() == [float(sum(range(2, 14)) + 2 + 3)]


def test_naive_year_falls_back_to_recent_in_the_first_year() -> None:
    counts = np.array([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]])  # ten weeks: no year-earlier period
    m = NaiveYear().fit(make_data(counts))
    assert m.predict().tolist() == [5.5]  # NaiveRecent(52) = mean of the ten weeks
    assert m.predict(horizon=2).tolist() == [11.0]
    m = NaiveYear(fallback_periods=2).fit(make_data(counts))
    assert m.predict().tolist() == [9.5]


# --- KernelDensity ---------------------------------------------------------------------------


def test_quartic_kernel_values() -> None:
    h = 200.0
    k = quartic_kernel(np.array([0.0, h / 2, h, 2 * h]), h)
    assert k[0] == pytest.approx(3 / (math.pi * h * h), rel=1e-15)
    # (3 / (pi h^2)) (1 - 1/4)^2 = 27 / (16 pi h^2)
    assert k[1] == pytest.approx(27 / (16 * math.pi * h * h), rel=1e-15)
    assert k[2] == 0.0 and k[3] == 0.0
    # it integrates to 1 over the plane (midpoint rule on a 2 m grid)
    g = np.arange(-h + 1, h, 2.0)
    gx, gy = np.meshgrid(g, g)
    assert quartic_kernel(np.hypot(gx, gy), h).sum() * 4.0 == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ValueError):
        quartic_kernel(np.zeros(1), 0.0)


# Events for the KDE (two weekly periods), at cell centroids of LINE_X:
#   e0 t=1 x=0 (cell 0), e1 t=8 x=100, e2 t=10 x=100 (cell 1), e3 t=2 x=400 (cell 4)
KDE_DATA = data_from_events([1.0, 8.0, 10.0, 2.0], [0, 1, 1, 4], LINE_X, n_periods=2)


def test_kde_by_hand() -> None:
    h = 200.0
    u = 3 / (math.pi * h * h) / 16  # K(0) = 16u, K(100) = K(h/2) = 9u, K(>= 200) = 0
    m = KernelDensity(bandwidth_m=h).fit(KDE_DATA)
    # cell 0: e0 16 + e1, e2 9 + 9 = 34; cell 1: e0 9 + e1, e2 16 + 16 = 41;
    # cell 2: e1, e2 9 + 9 = 18 (e0, e3 at 200 m: 0); cell 3: e3 9; cell 4: e3 16
    assert m.density_ is not None
    assert m.density_ == pytest.approx(u * np.array([34, 41, 18, 9, 16]), rel=1e-12)
    # 4 events over 2 periods: 2 per period, shared out in proportion to 34:41:18:9:16 (118)
    assert m.level_ == 2.0
    assert m.predict() == pytest.approx(2 * np.array([34, 41, 18, 9, 16]) / 118, rel=1e-12)
    assert m.predict(horizon=3) == pytest.approx(6 * np.array([34, 41, 18, 9, 16]) / 118)


def test_kde_window() -> None:
    # the last period only: e1, e2 (t = 8, 10) -> densities 18, 32, 18, 0, 0 (sum 68), 2 events
    m = KernelDensity(bandwidth_m=200.0, window_periods=1).fit(KDE_DATA)
    assert m.level_ == 2.0
    assert m.predict() == pytest.approx(2 * np.array([18, 32, 18, 0, 0]) / 68, rel=1e-12)
    # a window longer than the history is all of it
    full = KernelDensity(bandwidth_m=200.0, window_periods=10).fit(KDE_DATA).predict()
    assert full == pytest.approx(KernelDensity(bandwidth_m=200.0).fit(KDE_DATA).predict())


def test_kde_tiny_bandwidth_falls_back_to_counts_and_no_events_to_zero() -> None:
    off = pd.DataFrame(
        {"t": [1.0, 2.0, 3.0], "x": [40.0, 40.0, 140.0], "y": 0.0, "cell": [0, 0, 1]}
    )
    d = make_data(np.array([[2], [1], [0]]), LINE_X[:3], off)
    # no centroid within 10 m of an event: the map is the window's counts, at 3 events/period
    assert KernelDensity(bandwidth_m=10.0).fit(d).predict().tolist() == [2.0, 1.0, 0.0]
    empty = KernelDensity().fit(make_data(np.zeros((3, 2), dtype=np.int64)))
    assert empty.predict().tolist() == [0.0, 0.0, 0.0]


def test_kde_errors() -> None:
    with pytest.raises(ValueError):
        KernelDensity(bandwidth_m=0.0)
    with pytest.raises(ValueError):
        KernelDensity(window_periods=0)
    with pytest.raises(RuntimeError):
        KernelDensity().predict()


# --- ProspectiveHotspot ----------------------------------------------------------------------

# Three weekly periods, origin at day 21, weeks = 2 (events from day 7 on):
#   e0 t=20  x=0   (cell 0)  21-20 = 1   -> ceil(1/7) - 1 = 0 weeks ago
#   e1 t=14  x=100 (cell 1)  7           -> ceil(7/7) - 1 = 0 (first day of the last week)
#   e2 t=10  x=300 (cell 3)  11          -> 1
#   e3 t=6.5 x=0   (cell 0)  14.5        -> 2: outside the two weeks
#   e4 t=7   x=400 (cell 4)  14          -> 1
PH_DATA = data_from_events([20.0, 14.0, 10.0, 6.5, 7.0], [0, 1, 3, 0, 4], LINE_X, n_periods=3)


def test_prospective_by_hand() -> None:
    m = ProspectiveHotspot(bandwidth_m=250.0, weeks=2).fit(PH_DATA)
    assert m.spacing_ == 100.0
    # distance bands (spacing 100 m): 0 m -> 1, 100 m -> 1/2, 200 m -> 1/3, > 250 m -> out
    # cell 0: e0 1 + e1 1/2                                    = 3/2  = 18/12
    # cell 1: e0 1/2 + e1 1 + e2 1/3 * 1/2                     = 5/3  = 20/12
    # cell 2: e0 1/3 + e1 1/2 + e2 1/2 * 1/2 + e4 1/3 * 1/2    = 5/4  = 15/12
    # cell 3: e1 1/3 + e2 1/2 + e4 1/2 * 1/2                   = 13/12
    # cell 4: e2 1/2 * 1/2 + e4 1/2                            = 3/4  = 9/12
    risk = np.array([18, 20, 15, 13, 9]) / 12
    assert m.risk_ == pytest.approx(risk, rel=1e-12)
    # 4 events in the two weeks (e3 is older): 2 per period
    assert m.level_ == 2.0
    assert m.predict() == pytest.approx(2 * np.array([18, 20, 15, 13, 9]) / 75, rel=1e-12)
    assert m.predict(horizon=2).sum() == pytest.approx(4.0)


def test_prospective_longer_window_and_given_spacing() -> None:
    # weeks = 3 takes e3 too (2 weeks ago: 1/3):
    # cell 0 gains 1/3 = 4/12, cell 1 1/2 * 1/3 = 2/12, cell 2 1/3 * 1/3 = (4/3)/12
    m = ProspectiveHotspot(bandwidth_m=250.0, weeks=3).fit(PH_DATA)
    assert m.risk_ == pytest.approx(np.array([18 + 4, 20 + 2, 15 + 4 / 3, 13, 9]) / 12)
    assert m.level_ == 5 / 3  # 5 events over 3 periods
    # a 200 m spacing: bands 0-199 m -> 0 and 200 m -> 1; cell 0: e0 1 + e1 1 = 2
    big = ProspectiveHotspot(bandwidth_m=250.0, weeks=2, cell_size_m=200.0).fit(PH_DATA)
    assert big.spacing_ == 200.0
    assert big.risk_ is not None and big.risk_[0] == pytest.approx(2.0)


def test_prospective_daily_periods_use_weeks_of_seven_days() -> None:
    # ten daily periods, origin day 10, weeks = 1: days 3..10; e at 9.5 and 3.5 in, 2.5 out
    d = data_from_events([9.5, 3.5, 2.5], [0, 1, 1], LINE_X[:2], n_periods=10, period_days=1)
    m = ProspectiveHotspot(bandwidth_m=50.0, weeks=1).fit(d)
    assert m.risk_ is not None and m.risk_.tolist() == [1.0, 1.0]
    assert m.level_ == pytest.approx(2 / 7)  # 2 events over 7 daily periods
    assert m.predict(horizon=7).tolist() == pytest.approx([1.0, 1.0])


def test_cell_spacing_and_errors() -> None:
    assert cell_spacing(np.array([0.0, 100.0, 200.0, 400.0]), np.zeros(4)) == 100.0
    with pytest.raises(ValueError):
        cell_spacing(np.zeros(1), np.zeros(1))
    with pytest.raises(ValueError):
        ProspectiveHotspot(weeks=0)
    with pytest.raises(RuntimeError):
        ProspectiveHotspot().predict()


# --- every baseline -----------------------------------------------------------------------------


def synthetic(seed: int, n_side: int = 6, n_periods: int = 110) -> ForecastData:
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(n_side) * 150.0, np.arange(n_side) * 150.0)
    x, y = gx.ravel(), gy.ravel()
    n = x.size
    lam = rng.gamma(1.0, 0.3, n)
    counts = rng.poisson(lam[:, None], (n, n_periods)).astype(np.int64)
    cell, period = np.nonzero(counts)
    cell = np.repeat(cell, counts[cell, period])
    period = np.repeat(period, counts[np.nonzero(counts)])
    t = period * 7.0 + rng.uniform(0, 7, cell.size)
    events = pd.DataFrame(
        {
            "t": t,
            "x": x[cell] + rng.uniform(-50, 50, cell.size),
            "y": y[cell] + rng.uniform(-50, 50, cell.size),
            "cell": cell,
        }
    ).sort_values("t", ignore_index=True)
    return ForecastData(
        cells=np.arange(n, dtype=np.int64),
        x=x,
        y=y,
        counts=counts,
        periods=[date(2024, 1, 1) + timedelta(weeks=k) for k in range(n_periods)],
        period_days=7,
        events=events,
    )


def all_baselines() -> list[Forecaster]:
    return [
        NaiveRecent(),
        NaiveYear(),
        KernelDensity(bandwidth_m=300.0),
        KernelDensity(bandwidth_m=300.0, window_periods=8),
        ProspectiveHotspot(),
    ]


def test_baselines_only_see_the_past() -> None:
    a = synthetic(seed=3)
    b_future = synthetic(seed=4)  # another history, grafted after the origin
    origin = 55  # more than a year of history: NaiveYear reads periods 3..5, not its fallback
    b = ForecastData(
        cells=a.cells,
        x=a.x,
        y=a.y,
        counts=np.hstack([a.counts[:, :origin], b_future.counts[:, origin:]]),
        periods=a.periods,
        period_days=7,
        events=pd.concat(
            [
                a.events[a.events["t"] < origin * 7],
                b_future.events[b_future.events["t"] >= origin * 7],
            ],
            ignore_index=True,
        ),
    )
    assert not np.array_equal(a.counts, b.counts)
    for model in all_baselines():
        pa = model.fit(a.until(origin)).predict(horizon=3)
        pb = model.fit(b.until(origin)).predict(horizon=3)
        assert np.array_equal(pa, pb), model.name
        # the check can fail: fitted on the full histories (110 periods), the forecasts differ
        assert not np.array_equal(model.fit(a).predict(3), model.fit(b).predict(3)), model.name


def test_fitted_models_do_not_follow_later_changes_to_the_arrays() -> None:
    d = synthetic(seed=5)
    for model in all_baselines():
        before = model.fit(d.until(100)).predict(horizon=2)
        d.counts[:, :] += 1  # the caller reuses its buffer
        assert np.array_equal(model.predict(horizon=2), before), model.name
        d.counts[:, :] -= 1


def test_baselines_share_the_protocol_and_scale() -> None:
    d = synthetic(seed=6)
    for model in all_baselines():
        p = model.fit(d).predict(horizon=2)
        assert p.shape == (d.n_cells,) and p.dtype == np.float64 and (p >= 0).all()
        assert isinstance(model.name, str) and model.name
    # the KDE and prospective maps total the window's mean events per period times the horizon
    kde = KernelDensity(window_periods=8).fit(d).predict(horizon=2)
    assert kde.sum() == pytest.approx(2 * d.counts[:, -8:].sum() / 8)
    ph = ProspectiveHotspot(weeks=8).fit(d).predict(horizon=2)
    assert ph.sum() == pytest.approx(2 * d.counts[:, -8:].sum() / 8)


def test_city_scale() -> None:
    # 20,000 cells (about 130 m apart) and 50,000 events: fits in well under a second each
    rng = np.random.default_rng(11)
    n_side, n_periods = 142, 52
    gx, gy = np.meshgrid(np.arange(n_side) * 130.0, np.arange(n_side) * 130.0)
    x, y = gx.ravel()[:20_000], gy.ravel()[:20_000]
    cell = rng.integers(0, 20_000, 50_000)
    t = np.sort(rng.uniform(0, n_periods * 7, 50_000))
    counts = np.zeros((20_000, n_periods), dtype=np.int64)
    np.add.at(counts, (cell, (t // 7).astype(int)), 1)
    events = pd.DataFrame({"t": t, "x": x[cell], "y": y[cell], "cell": cell})
    d = ForecastData(
        np.arange(20_000, dtype=np.int64),
        x,
        y,
        counts,
        [date(2024, 1, 1) + timedelta(weeks=k) for k in range(n_periods)],
        7,
        events,
    )
    kde = KernelDensity(bandwidth_m=300.0).fit(d).predict()
    assert kde.sum() == pytest.approx(50_000 / n_periods)
    ph = ProspectiveHotspot(bandwidth_m=400.0, weeks=8).fit(d).predict()
    assert ph.sum() == pytest.approx(counts[:, -8:].sum() / 8)
