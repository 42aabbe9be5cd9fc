"""Local Moran's I against PySAL esda on H3 cells around Marseille."""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_CACHE_DIR", "/tmp/geotranquil-numba")

import warnings

import h3
import numpy as np
import pytest

from geotranquil.stats import SpatialWeights, local_moran


@pytest.fixture(scope="module")
def data() -> dict:
    poly = h3.LatLngPoly([(43.25, 5.33), (43.25, 5.45), (43.34, 5.45), (43.34, 5.33)])
    cells = np.array(
        sorted(h3.str_to_int(c) for c in h3.h3shape_to_cells_experimental(poly, 9, "overlap")),
        dtype=np.int64,
    )
    n = cells.shape[0]
    w = SpatialWeights.from_h3(cells, k=1, include_self=False)
    far = SpatialWeights.from_h3(cells, k=3)
    rng = np.random.default_rng(7)
    lam = np.full(n, 3.0)
    hot, cold = n // 3, 2 * n // 3
    lam[far.sparse[hot].indices] = 12.0
    lam[far.sparse[cold].indices] = 0.05
    y = rng.poisson(lam) + rng.uniform(0, 0.01, n)  # jitter: no exact ties (see esda note)
    return {"w": w, "y": y, "hot": hot, "cold": cold}


@pytest.fixture(scope="module")
def esda_perm(data: dict):  # the only esda permutation run of this module (numba compile)
    from esda.moran import Moran_Local

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Moran_Local(data["y"], data["w"].to_libpysal(), permutations=999, seed=3)


def test_deterministic_parts_equal_esda(data: dict) -> None:
    from esda.moran import Moran_Local

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = Moran_Local(data["y"], data["w"].to_libpysal(), permutations=0)
    r = local_moran(data["y"], data["w"], permutations=0)
    for name in ("Is", "EI", "VI", "EIc", "VIc"):
        np.testing.assert_allclose(getattr(r, name), getattr(m, name), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(r.q, m.q)
    # the diagonal of the weights is ignored
    r_self = local_moran(data["y"], data["w"].with_self(), permutations=0)
    np.testing.assert_allclose(r_self.Is, m.Is, rtol=0, atol=1e-9)


def test_permutation_p_within_mc_error(data: dict, esda_perm) -> None:
    r = local_moran(data["y"], data["w"], permutations=999, seed=11)
    r2 = local_moran(data["y"], data["w"], permutations=999, seed=12)
    assert r.p_sim is not None and r2.p_sim is not None and r.z_sim is not None
    d = np.abs(r.p_sim - esda_perm.p_sim)
    d_self = np.abs(r.p_sim - r2.p_sim)
    assert d.mean() < 0.03 and np.percentile(d, 95) < 0.06
    assert d.mean() < 2 * d_self.mean() + 0.005
    assert ((r.p_sim < 0.05) == (esda_perm.p_sim < 0.05)).mean() > 0.97
    assert np.nanmax(np.abs(r.z_sim - esda_perm.z_sim)) < 0.5
    np.testing.assert_allclose(r.EI_sim, esda_perm.EI_sim, atol=0.1)


def test_clusters_found_and_labelled(data: dict) -> None:
    r = local_moran(data["y"], data["w"], permutations=999, seed=1)
    assert r.cluster[data["hot"]] == "High-High"
    assert r.cluster[data["cold"]] == "Low-Low"
    assert set(r.cluster.tolist()) <= {
        "High-High",
        "Low-Low",
        "High-Low",
        "Low-High",
        "Not significant",
    }
    assert (r.cluster[~r.significant] == "Not significant").all()
    with_fdr = local_moran(data["y"], data["w"], permutations=999, seed=1, fdr=True)
    assert with_fdr.significant.sum() <= r.significant.sum()


def test_deterministic_for_seed(data: dict) -> None:
    a = local_moran(data["y"], data["w"], permutations=199, seed=5)
    b = local_moran(data["y"], data["w"], permutations=199, seed=5)
    assert a.p_sim is not None and b.p_sim is not None
    np.testing.assert_array_equal(a.p_sim, b.p_sim)
