"""Our boosted forecaster: features from the past only, shapes, a planted hot cell ranked first."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import h3
import numpy as np
import pandas as pd
import pytest

from geotranquil.forecast.base import ForecastData
from geotranquil.forecast.baselines import KernelDensity
from geotranquil.forecast.boosting import (
    BoostedForecaster,
    EnsembleForecaster,
    feature_matrix,
    feature_names,
    ring_matrices,
)
from geotranquil.forecast.simulate import forecast_data_from_events, simulate_sepp

START = date(2024, 1, 1)


def _cells(k: int) -> tuple[np.ndarray, np.ndarray]:
    centre = h3.latlng_to_cell(43.2965, 5.3698, 9)
    cells = np.array(sorted(h3.str_to_int(c) for c in h3.grid_disk(centre, k)), dtype=np.int64)
    lat, lon = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells]).T
    xy = np.column_stack([lon * 80_000.0, lat * 111_000.0])  # metres enough for the tests
    return cells, xy


def _data(counts: np.ndarray, cells: np.ndarray, xy: np.ndarray) -> ForecastData:
    periods = [START + timedelta(days=7 * k) for k in range(counts.shape[1])]
    events = pd.DataFrame({"t": [], "x": [], "y": [], "cell": []})
    return ForecastData(cells, xy[:, 0], xy[:, 1], counts.astype(np.int64), periods, 7, events)


def test_features_at_a_period_use_only_earlier_periods() -> None:
    cells, xy = _cells(3)
    rng = np.random.default_rng(4)
    counts = rng.poisson(0.4, (len(cells), 90))
    data = _data(counts, cells, xy)
    origin = 70
    feats, names = feature_matrix(data, [origin, 40])
    changed = counts.copy()
    changed[:, origin:] = rng.poisson(5.0, changed[:, origin:].shape)  # current and future
    feats2, _ = feature_matrix(_data(changed, cells, xy), [origin, 40])
    np.testing.assert_array_equal(feats, feats2)
    # the same features at the origin just after the cut data (what predict uses)
    feats3, _ = feature_matrix(data.until(origin), [origin])
    np.testing.assert_array_equal(feats[: len(cells)], feats3)
    # and a change in the last past period does change them
    changed[:, origin - 1] += 1
    feats4, _ = feature_matrix(_data(changed, cells, xy), [origin])
    assert not np.array_equal(feats[: len(cells)], feats4)
    assert names == feature_names()


def test_feature_values_by_hand() -> None:
    cells, xy = _cells(2)
    centre = int(np.searchsorted(cells, h3.str_to_int(h3.latlng_to_cell(43.2965, 5.3698, 9))))
    counts = np.zeros((len(cells), 60), dtype=np.int64)
    counts[centre, [3, 50, 58]] = [1, 2, 3]
    ring1 = [i for i in range(len(cells)) if i != centre][:1]
    rings = ring_matrices(cells)
    neighbour = int(rings[0][centre].indices[0])
    counts[neighbour, 59] = 4
    feats, names = feature_matrix(_data(counts, cells, xy), [60], rings)
    row = dict(zip(names, feats[centre], strict=True))
    assert row["own_1"] == 0 and row["own_2"] == 3 and row["own_13"] == 5 and row["own_52"] == 5
    assert row["ring1_1"] == 4 and row["ring2_52"] == 0
    assert row["since_last"] == 2  # last event in period 58, origin 60
    assert row["mean"] == pytest.approx(6 / 60)
    assert row["trend"] == pytest.approx(3 / 4 - 2 / 13)
    # one year before period 60: periods 7, 8, 9 (lag 52 -> 60 - 53 .. 60 - 51)
    assert row["year_ago"] == 0
    assert ring1  # the centre has neighbours in the study area
    assert int(rings[0][centre].sum()) == 6 and int(rings[1][centre].sum()) == 12


def test_rings_without_h3_ids_use_distances() -> None:
    xy = np.array([[400.0 * i + 200.0 * (j % 2), 346.41 * j] for j in range(9) for i in range(9)])
    r1, r2 = ring_matrices(np.arange(81), ((1,), (2,)), xy=xy)
    assert int(r1[40].sum()) == 6 and int(r2[40].sum()) == 12
    assert (r1 != r1.T).nnz == 0


def test_fit_predict_shapes_and_horizon() -> None:
    cells, xy = _cells(3)
    rng = np.random.default_rng(0)
    data = _data(rng.poisson(0.3, (len(cells), 70)), cells, xy)
    model = BoostedForecaster(max_iter=40, seed=1).fit(data)
    risk = model.predict()
    assert risk.shape == (len(cells),) and risk.dtype == np.float64
    assert np.all(risk >= 0)
    np.testing.assert_allclose(model.predict(horizon=3), 3 * risk)
    # 70 periods: the warm-up shrinks to half the history (34), rows for periods 34 .. 69
    assert model.train_rows_ == len(cells) * (69 - 34 + 1)
    again = BoostedForecaster(max_iter=40, seed=1).fit(data).predict()
    np.testing.assert_array_equal(risk, again)  # seeded
    with pytest.raises(RuntimeError):
        BoostedForecaster().predict()
    # too little history: the model still answers (the long-run mean)
    empty = _data(np.zeros((len(cells), 3), dtype=np.int64), cells, xy)
    assert BoostedForecaster().fit(empty).predict().tolist() == [0.0] * len(cells)


def test_population_is_a_feature_when_given() -> None:
    cells, xy = _cells(2)
    rng = np.random.default_rng(0)
    data = replace(
        _data(rng.poisson(0.3, (len(cells), 40)), cells, xy),
        population=np.linspace(0, 1000, len(cells)),
    )
    feats, names = feature_matrix(data, [40])
    assert names[-1] == "population"
    np.testing.assert_array_equal(feats[:, -1], data.population)
    assert BoostedForecaster(max_iter=20).fit(data).predict().shape == (len(cells),)


def test_planted_persistent_hot_cell_ranks_first() -> None:
    cells, _ = _cells(5)
    from pyproj import Transformer

    lat, lon = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells]).T
    x, y = Transformer.from_crs(4326, 2154, always_xy=True).transform(lon, lat)
    xy = np.column_stack([x, y])
    mu = np.full(len(cells), 0.004)
    hot = 17
    mu[hot] = 0.15  # about one event a week, every week
    events = simulate_sepp(xy, mu, 0.3, 0.2, 150.0, 7 * 80, 7, 105_000.0)
    data = forecast_data_from_events(events, cells, xy, 7, START, 80)
    risk = BoostedForecaster(seed=3).fit(data).predict()
    assert int(np.argmax(risk)) == hot
    assert risk[hot] > 3 * np.median(risk)


def test_ensemble_averages_fitted_members() -> None:
    cells, xy = _cells(2)
    rng = np.random.default_rng(2)
    data = _data(rng.poisson(0.5, (len(cells), 60)), cells, xy)
    events = pd.DataFrame(
        {"t": [3.0, 10.0, 300.0], "x": xy[[0, 1, 2], 0], "y": xy[[0, 1, 2], 1], "cell": [0, 1, 2]}
    )
    data = replace(data, events=events)
    gbm, kde = BoostedForecaster(max_iter=20), KernelDensity(bandwidth_m=300)
    ens = EnsembleForecaster([gbm, kde], [3, 1]).fit(data)
    expected = 0.75 * gbm.fit(data).predict() + 0.25 * kde.fit(data).predict()
    np.testing.assert_allclose(ens.predict(), expected)
    assert ens.name == "ensemble"
    with pytest.raises(ValueError):
        EnsembleForecaster([gbm], [1, 2])
    with pytest.raises(RuntimeError):
        EnsembleForecaster([gbm]).predict()
