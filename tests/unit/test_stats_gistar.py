"""Getis-Ord Gi* against PySAL esda on H3 cells around Marseille."""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_CACHE_DIR", "/tmp/geotranquil-numba")

import warnings

import h3
import numpy as np
import pytest

from geotranquil.stats import SpatialWeights, gi_star


def _cells() -> np.ndarray:
    poly = h3.LatLngPoly([(43.25, 5.33), (43.25, 5.45), (43.34, 5.45), (43.34, 5.33)])
    cells = h3.h3shape_to_cells_experimental(poly, 9, contain="overlap")
    return np.array(sorted(h3.str_to_int(c) for c in cells), dtype=np.int64)


@pytest.fixture(scope="module")
def data() -> dict:
    cells = _cells()
    n = cells.shape[0]
    w = SpatialWeights.from_h3(cells, k=1)
    far = SpatialWeights.from_h3(cells, k=3)
    rng = np.random.default_rng(42)
    lam = np.full(n, 3.0)
    hot, cold = n // 3, 2 * n // 3
    lam[far.sparse[hot].indices] = 12.0
    lam[far.sparse[cold].indices] = 0.05
    y = rng.poisson(lam).astype(float)
    return {"cells": cells, "w": w, "y": y, "hot": hot, "cold": cold, "far": far}


@pytest.fixture(scope="module")
def esda_perm(data: dict):  # the only esda permutation run of this module (numba compile)
    from esda.getisord import G_Local

    yj = data["y"] + np.random.default_rng(0).uniform(0, 0.01, data["y"].shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = G_Local(
            yj,
            data["w"].without_self().to_libpysal(),
            transform="B",
            star=True,
            permutations=999,
            seed=3,
            n_jobs=1,
        )
    return yj, g


def test_z_equals_esda(data: dict) -> None:
    from esda.getisord import G_Local

    assert 500 <= data["w"].n <= 2000
    for w in (data["w"], data["far"]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = G_Local(
                data["y"], w.without_self().to_libpysal(), transform="B", star=True, permutations=0
            )
        r = gi_star(data["y"], w)
        np.testing.assert_allclose(r.z, g.Zs, rtol=0, atol=1e-9)
        np.testing.assert_allclose(r.Gs, g.Gs, rtol=0, atol=1e-12)
        np.testing.assert_allclose(r.p_norm, 2 * g.p_norm, rtol=0, atol=1e-12)  # two-sided


def test_distance_band_z_equals_esda() -> None:
    from esda.getisord import G_Local

    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 3000, size=(400, 2))
    y = rng.gamma(2.0, 2.0, 400)
    w = SpatialWeights.from_distance_band(xy[:, 0], xy[:, 1], 300.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = G_Local(y, w.without_self().to_libpysal(), transform="B", star=True, permutations=0)
    np.testing.assert_allclose(gi_star(y, w).z, g.Zs, rtol=0, atol=1e-9)


def test_permutation_p_within_mc_error(data: dict, esda_perm) -> None:
    yj, g = esda_perm
    r = gi_star(yj, data["w"], permutations=999, seed=11)
    r2 = gi_star(yj, data["w"], permutations=999, seed=12)
    assert r.p_sim is not None and r2.p_sim is not None
    d = np.abs(r.p_sim - g.p_sim)
    d_self = np.abs(r.p_sim - r2.p_sim)
    # MC sd of p is at most sqrt(0.25/999) ~ 0.016 per run
    assert d.mean() < 0.03 and np.percentile(d, 95) < 0.06
    assert d.mean() < 2 * d_self.mean() + 0.005
    assert ((r.p_sim < 0.05) == (g.p_sim < 0.05)).mean() > 0.97
    assert np.nanmax(np.abs(r.z_sim - g.z_sim)) < 0.5


def test_planted_hot_and_cold_found(data: dict) -> None:
    r = gi_star(data["y"], data["w"], permutations=99, seed=1)
    assert r.gi_bin[data["hot"]] == 3
    core = data["w"].sparse[data["hot"]].indices
    assert (r.gi_bin[core] == 3).all()
    assert r.gi_bin[data["cold"]] < 0
    assert r.gi_bin.dtype == np.int8 and set(np.unique(r.gi_bin)) <= set(range(-3, 4))
    # FDR only removes significance
    raw = gi_star(data["y"], data["w"], fdr=False)
    assert (np.abs(r.gi_bin) <= np.abs(raw.gi_bin)).all()


def test_deterministic_for_seed(data: dict) -> None:
    a = gi_star(data["y"], data["w"], permutations=199, seed=5, inference="sim")
    b = gi_star(data["y"], data["w"], permutations=199, seed=5, inference="sim")
    assert a.p_sim is not None and b.p_sim is not None
    np.testing.assert_array_equal(a.p_sim, b.p_sim)
    np.testing.assert_array_equal(a.gi_bin, b.gi_bin)


def test_conditional_null_is_uniform_over_others() -> None:
    from geotranquil.stats.getis_ord import conditional_null

    # 5 cells, each with 2 neighbours: random sum for cell 0 draws 2 of y[1:] uniformly
    y = np.array([100.0, 1.0, 2.0, 4.0, 8.0])
    card = np.full(5, 2)
    null = conditional_null(y, card, np.full(5, 6.0), 20000, seed=0)
    pairs = [a + b for i, a in enumerate(y[1:]) for b in y[1:][i + 1 :]]
    assert abs(null.mean[0] - np.mean(pairs)) < 0.1
    assert abs(null.ge[0] / 20000 - np.mean(np.array(pairs) >= 6.0)) < 0.015
