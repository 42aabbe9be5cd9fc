"""The multi-scale forecaster: kernel cubes, past-only features, shapes, a hot spot ranked first."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from geotranquil.forecast.base import ForecastData
from geotranquil.forecast.stacking import MultiScaleForecaster, kernel_cube

START = date(2024, 1, 1)


def _grid(k: int, spacing: float = 300.0) -> np.ndarray:
    return np.array([(spacing * i, spacing * j) for j in range(k) for i in range(k)], dtype=float)


def _events(counts: np.ndarray, xy: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    cell, period = np.nonzero(counts)
    reps = counts[cell, period]
    cell, period = np.repeat(cell, reps), np.repeat(period, reps)
    return pd.DataFrame(
        {
            "t": 7.0 * period + rng.uniform(0, 7, cell.size),
            "x": xy[cell, 0] + rng.uniform(-100, 100, cell.size),
            "y": xy[cell, 1] + rng.uniform(-100, 100, cell.size),
            "cell": cell,
        }
    )


def _data(counts: np.ndarray, xy: np.ndarray, seed: int = 0) -> ForecastData:
    periods = [START + timedelta(days=7 * k) for k in range(counts.shape[1])]
    events = _events(counts, xy, np.random.default_rng(seed))
    cells = np.arange(len(xy), dtype=np.int64)
    return ForecastData(cells, xy[:, 0], xy[:, 1], counts.astype(np.int64), periods, 7, events)


def test_kernel_cube_by_hand_and_without_events() -> None:
    xy = np.array([[0.0, 0.0], [100.0, 0.0], [1000.0, 0.0]])
    counts = np.array([[1, 0], [0, 2], [0, 0]])
    events = pd.DataFrame(
        {"t": [2.0, 8.0, 13.9], "x": [0.0, 100.0, 100.0], "y": 0.0, "cell": [0, 1, 1]}
    )
    data = replace(_data(counts, xy), events=events)
    cube = kernel_cube(data, 200.0)
    w = (1 - 0.25) ** 2
    np.testing.assert_allclose(cube, [[1.0, 2 * w], [w, 2.0], [0.0, 0.0]])
    # events at the centroids: the same cube from the counts alone
    np.testing.assert_allclose(kernel_cube(replace(data, events=None), 200.0), cube)
    with pytest.raises(ValueError):
        kernel_cube(data, 0.0)


def test_forecast_uses_only_the_past() -> None:
    xy = _grid(6)
    rng = np.random.default_rng(1)
    counts = rng.poisson(0.3, (len(xy), 50))
    data = _data(counts, xy)
    origin = 40
    risk = MultiScaleForecaster().fit(data.until(origin)).predict()
    changed = counts.copy()
    changed[:, origin:] = rng.poisson(4.0, changed[:, origin:].shape)
    other = _data(changed, xy)
    other = replace(other, events=data.events[data.events["t"] < 7 * origin])
    other = replace(
        other,
        events=pd.concat(
            [other.events, _events(changed[:, origin:], xy, rng).assign(t=lambda e: e.t + 280)]
        ),
    )
    again = MultiScaleForecaster().fit(other.until(origin)).predict()
    np.testing.assert_allclose(risk, again)


def test_fit_predict_shapes_horizon_and_fallback() -> None:
    xy = _grid(5)
    rng = np.random.default_rng(0)
    data = _data(rng.poisson(0.3, (len(xy), 30)), xy)
    model = MultiScaleForecaster().fit(data)
    risk = model.predict()
    assert risk.shape == (len(xy),) and risk.dtype == np.float64 and np.all(risk > 0)
    np.testing.assert_allclose(model.predict(horizon=3), 3 * risk)
    # rows for periods 8 .. 26 (the 4-period target of period 26 ends at 30)
    assert model.train_rows_ == len(xy) * (26 - 8 + 1)
    assert model.coef_ is not None and model.coef_.shape == (3 + 5 * 2,)
    np.testing.assert_array_equal(risk, MultiScaleForecaster().fit(data).predict())
    with pytest.raises(RuntimeError):
        MultiScaleForecaster().predict()
    with pytest.raises(ValueError):
        model.predict(0)
    with pytest.raises(ValueError):
        MultiScaleForecaster(horizon=0)
    # too little history: the mean count per period
    short = data.until(5)
    np.testing.assert_allclose(
        MultiScaleForecaster().fit(short).predict(2), 2 * short.counts.mean(axis=1)
    )


def test_planted_hot_spot_ranks_first() -> None:
    xy = _grid(10)
    rng = np.random.default_rng(3)
    counts = rng.poisson(0.02, (len(xy), 60))
    hot = 44
    counts[hot] += rng.poisson(1.0, 60)
    risk = MultiScaleForecaster().fit(_data(counts, xy)).predict()
    assert int(np.argmax(risk)) == hot
    assert risk[hot] > 5 * np.median(risk)
