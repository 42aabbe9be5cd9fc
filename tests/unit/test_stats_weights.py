"""SpatialWeights against libpysal and by hand."""

from __future__ import annotations

import h3
import h3.api.basic_int as h3i
import numpy as np
import pytest

from geotranquil.stats.weights import SpatialWeights


def _cells(res: int = 9) -> np.ndarray:
    poly = h3.LatLngPoly([(43.27, 5.35), (43.27, 5.42), (43.32, 5.42), (43.32, 5.35)])
    cells = h3.h3shape_to_cells_experimental(poly, res, contain="overlap")
    return np.array(sorted(h3.str_to_int(c) for c in cells), dtype=np.int64)


def test_from_h3_matches_grid_disk_among_given_cells() -> None:
    cells = _cells()
    rng = np.random.default_rng(0)
    cells = cells[rng.permutation(cells.shape[0])]  # order of observations is arbitrary
    w = SpatialWeights.from_h3(cells, k=1)
    index = {int(c): i for i, c in enumerate(cells)}
    for i in rng.choice(cells.shape[0], 50, replace=False):
        expected = sorted(index[c] for c in h3i.grid_disk(int(cells[i]), 1) if c in index)
        assert sorted(w.sparse[i].indices.tolist()) == expected
    assert w.include_self
    assert (w.cardinalities <= 7).all()
    w0 = SpatialWeights.from_h3(cells, k=1, include_self=False)
    np.testing.assert_array_equal(w0.cardinalities, w.cardinalities - 1)
    assert not w0.include_self
    assert (w.sparse != w.sparse.T).nnz == 0


def test_from_h3_k2_and_libpysal() -> None:
    cells = _cells()
    w2 = SpatialWeights.from_h3(cells, k=2, include_self=False)
    assert w2.cardinalities.max() == 18
    lw = w2.to_libpysal()
    assert lw.n == w2.n
    np.testing.assert_array_equal(lw.sparse.toarray(), w2.sparse.toarray())


def test_from_h3_on_a_city_sized_grid() -> None:
    # speed is measured by benchmarks/gistar_vs_esda.py, never asserted in a test
    c = h3i.latlng_to_cell(43.3, 5.4, 10)
    cells = np.array(h3i.grid_disk(c, 100), dtype=np.int64)  # 30,301 cells
    w = SpatialWeights.from_h3(cells, k=1)
    assert w.n == 30301
    # every cell has itself and its 6 neighbours, but on the disk's outer ring (600 cells)
    neighbours = np.asarray(w.sparse.sum(axis=1)).ravel()
    assert (neighbours == 7).sum() == 30301 - 600
    assert set(np.unique(neighbours[neighbours != 7])) <= {4, 5}


def test_distance_band_matches_libpysal() -> None:
    from libpysal.weights import DistanceBand

    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 2000, size=(300, 2))
    w = SpatialWeights.from_distance_band(xy[:, 0], xy[:, 1], 250.0, include_self=False)
    ref = DistanceBand(xy, threshold=250.0, binary=True, silence_warnings=True)
    np.testing.assert_array_equal(w.sparse.toarray(), ref.sparse.toarray())
    ws = SpatialWeights.from_distance_band(xy[:, 0], xy[:, 1], 250.0)
    np.testing.assert_array_equal(ws.cardinalities, w.cardinalities + 1)


def test_space_time_neighbourhood() -> None:
    cells = _cells()[:40]
    w = SpatialWeights.from_h3(cells, k=1, include_self=False)
    n_bins, lags = 5, 2
    st = w.space_time(n_bins, lags=lags)
    assert st.n == 40 * n_bins
    spatial = w.with_self().sparse
    for c in (0, 7, 39):
        for t in range(n_bins):
            got = set(st.sparse[c * n_bins + t].indices.tolist())
            want = {
                int(j) * n_bins + s
                for j in spatial[c].indices
                for s in range(max(0, t - lags), t + 1)
            }
            assert got == want


def test_rejects_duplicates() -> None:
    cells = _cells()[:3]
    with pytest.raises(ValueError):
        SpatialWeights.from_h3(np.r_[cells, cells[:1]])
