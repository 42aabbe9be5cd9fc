"""Benjamini-Hochberg against scipy, esda and a hand-written reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import false_discovery_control

from geotranquil.stats.fdr import benjamini_hochberg, confidence_level, fdr_adjust


def _reference_reject(p: np.ndarray, alpha: float) -> np.ndarray:
    m = len(p)
    order = np.argsort(p)
    k = 0
    for rank, i in enumerate(order, start=1):
        if p[i] <= rank * alpha / m:
            k = rank
    out = np.zeros(m, dtype=bool)
    out[order[:k]] = True
    return out


def test_adjusted_equals_scipy() -> None:
    rng = np.random.default_rng(0)
    p = np.r_[rng.uniform(size=900), rng.uniform(0, 0.002, size=100)]
    np.testing.assert_allclose(fdr_adjust(p), false_discovery_control(p, method="bh"))


def test_reject_equals_reference_and_esda_cutoff() -> None:
    import esda

    rng = np.random.default_rng(1)
    p = np.r_[rng.uniform(size=500), rng.uniform(0, 0.01, size=60)]
    for alpha in (0.01, 0.05, 0.10):
        got = benjamini_hochberg(p, alpha)
        np.testing.assert_array_equal(got, _reference_reject(p, alpha))
        np.testing.assert_array_equal(got, p <= esda.fdr(p, alpha))


def test_nan_ignored_and_levels() -> None:
    p = np.array([0.001, np.nan, 0.02, 0.5])
    adj = fdr_adjust(p)
    assert np.isnan(adj[1])
    np.testing.assert_allclose(adj[[0, 2, 3]], false_discovery_control([0.001, 0.02, 0.5]))
    assert benjamini_hochberg(p).tolist() == [True, False, True, False]
    assert confidence_level([0.001, 0.02, 0.08, 0.5], fdr=False).tolist() == [99, 95, 90, 0]


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.10, 0.5, 1.0])
def test_benjamini_hochberg_sorts_only_the_candidates_and_decides_the_same(alpha: float) -> None:
    rng = np.random.default_rng(18)
    p = np.concatenate(
        [rng.uniform(size=20_000), rng.uniform(0, 0.002, size=500), np.full(300, alpha)]
    )
    p = np.round(p, 4)  # many ties, some exactly at alpha
    p[rng.choice(p.size, 200, replace=False)] = np.nan
    p = rng.permutation(p).reshape(-1, 40)
    expected = (fdr_adjust(p) <= alpha) & ~np.isnan(p)
    got = benjamini_hochberg(p, alpha=alpha)
    assert got.shape == p.shape
    assert np.array_equal(got, expected)
    assert int(got.sum()) == int(expected.sum()) > 0
