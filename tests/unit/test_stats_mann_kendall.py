"""Mann-Kendall (vectorised) against pymannkendall.original_test, series by series."""

from __future__ import annotations

import numpy as np
import pymannkendall as pmk
import pytest

from geotranquil.stats.mann_kendall import mann_kendall, sens_slope


def _assert_same_as_pmk(x: np.ndarray, alpha: float = 0.05, slope: bool = False) -> None:
    r = mann_kendall(x, alpha=alpha, slope=slope)
    for i, row in enumerate(np.atleast_2d(x)):
        ref = pmk.original_test(row, alpha=alpha)
        assert r.s[i] == ref.s, (i, row)
        assert r.var_s[i] == ref.var_s, (i, row)
        assert r.z[i] == pytest.approx(ref.z, rel=1e-15, abs=0), (i, row)
        assert r.p[i] == pytest.approx(ref.p, rel=1e-12, abs=1e-15), (i, row)
        if np.isnan(ref.Tau):
            assert np.isnan(r.tau[i])
        else:
            assert r.tau[i] == ref.Tau, (i, row)
        assert bool(r.h[i]) == bool(ref.h), (i, row)
        assert r.trend[i] == ref.trend, (i, row)
        if slope:
            assert r.slope[i] == pytest.approx(ref.slope, rel=1e-12, abs=1e-15)
            assert r.intercept[i] == pytest.approx(ref.intercept, rel=1e-12, abs=1e-12)


def test_random_series_with_many_ties() -> None:
    rng = np.random.default_rng(7)
    _assert_same_as_pmk(rng.integers(0, 4, size=(300, 15)).astype(float), slope=True)


def test_random_counts_52_weeks_and_other_alphas() -> None:
    rng = np.random.default_rng(8)
    x = rng.poisson(3.0, size=(200, 52)) + np.arange(52) * rng.normal(0, 0.05, size=(200, 1))
    for alpha in (0.01, 0.05, 0.1):
        _assert_same_as_pmk(np.round(x, 1), alpha=alpha)


def test_continuous_series_without_ties() -> None:
    rng = np.random.default_rng(9)
    _assert_same_as_pmk(rng.normal(size=(100, 30)) + np.linspace(0, 1, 30), slope=True)


def test_monotone_series() -> None:
    up = np.arange(20, dtype=float)
    x = np.vstack([up, -up, up**2, np.sqrt(up)])
    r = mann_kendall(x)
    assert r.trend.tolist() == ["increasing", "decreasing", "increasing", "increasing"]
    assert r.tau.tolist() == [1.0, -1.0, 1.0, 1.0]
    _assert_same_as_pmk(x, slope=True)


def test_constant_series() -> None:
    x = np.full((3, 10), 4.0)
    r = mann_kendall(x)
    assert r.s.tolist() == [0.0] * 3
    assert r.var_s.tolist() == [0.0] * 3
    assert r.z.tolist() == [0.0] * 3
    assert r.p.tolist() == [1.0] * 3
    assert r.trend.tolist() == ["no trend"] * 3
    _assert_same_as_pmk(x)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_short_series(n: int) -> None:
    rng = np.random.default_rng(n)
    x = np.vstack(
        [rng.integers(0, 3, size=(50, n)).astype(float), np.arange(n, dtype=float)[None, :]]
    )
    _assert_same_as_pmk(x, slope=True)


def test_vectorised_equals_per_series() -> None:
    rng = np.random.default_rng(11)
    x = rng.poisson(2.0, size=(64, 24)).astype(float)
    whole = mann_kendall(x, slope=True)
    for i in range(x.shape[0]):
        one = mann_kendall(x[i], slope=True)
        for name in ("s", "var_s", "z", "p", "tau", "slope", "intercept"):
            assert getattr(one, name)[0] == getattr(whole, name)[i], name
        assert one.direction[0] == whole.direction[i]


def test_sens_slope_matches_pymannkendall() -> None:
    rng = np.random.default_rng(12)
    x = rng.normal(size=(40, 17)).cumsum(axis=1)
    slope, intercept = sens_slope(x, chunk=7)
    for i, row in enumerate(x):
        ref = pmk.sens_slope(row)
        assert slope[i] == pytest.approx(ref.slope, rel=1e-12)
        assert intercept[i] == pytest.approx(ref.intercept, rel=1e-12, abs=1e-12)


def test_rejects_missing_values_and_bad_alpha() -> None:
    with pytest.raises(ValueError):
        mann_kendall([[1.0, np.nan, 2.0]])
    with pytest.raises(ValueError):
        mann_kendall([[1.0, 2.0]], alpha=1.5)


def test_thirty_thousand_series_of_52_match_row_by_row() -> None:
    # speed is measured by benchmarks/emerging_vs_peers.py, never asserted in a test
    x = np.random.default_rng(13).poisson(3.0, size=(30_000, 52)).astype(float)
    r = mann_kendall(x)
    assert r.s.shape == (30_000,)
    for i in (0, 12_345, 29_999):  # the batch gives each series its own result
        one = mann_kendall(x[i : i + 1])
        assert one.s[0] == r.s[i] and one.z[0] == r.z[i]
