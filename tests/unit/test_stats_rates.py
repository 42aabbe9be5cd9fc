"""Rates per 1,000 residents and their Empirical Bayes smoothing, against PySAL."""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("NUMBA_CACHE_DIR", "/tmp/geotranquil-numba")

from esda.smoothing import Empirical_Bayes

from geotranquil.stats.rates import empirical_bayes_rate, raw_rate


def test_empirical_bayes_equals_pysal() -> None:
    rng = np.random.default_rng(1)
    n = rng.integers(1, 5000, 800).astype(float)
    y = rng.poisson(n * 0.003).astype(float)
    expected = Empirical_Bayes(y, n).r.ravel() * 1000
    assert np.allclose(empirical_bayes_rate(y, n), expected, rtol=0, atol=1e-12)


def test_small_populations_shrink_most() -> None:
    n = np.array([5.0, 5000.0, 5000.0, 5000.0, 5000.0])
    y = np.array([3.0, 10.0, 12.0, 8.0, 11.0])  # the tiny cell has an absurd raw rate
    raw = raw_rate(y, n)
    eb = empirical_bayes_rate(y, n)
    city = y.sum() / n.sum() * 1000
    assert raw[0] == 600.0
    assert city < eb[0] < raw[0] / 5  # pulled most of the way towards the city rate
    assert np.allclose(eb[1:], raw[1:], rtol=0.01)  # well-populated cells barely move


def test_cells_without_residents_have_no_rate() -> None:
    eb = empirical_bayes_rate([1, 2, 3], [0, 100, 200])
    assert np.isnan(eb[0]) and not np.isnan(eb[1:]).any()
    assert np.isnan(empirical_bayes_rate([1], [0])).all()
