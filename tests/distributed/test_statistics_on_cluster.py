"""Gi*, Local Moran and emerging hot spots on a real two-worker Dask cluster: exactly the
single-process results on a planted data set spread over several H3 parents."""

from __future__ import annotations

import h3.api.basic_int as h3i
import numpy as np
import pytest

from geotranquil.distributed.hotspots import (
    emerging_on_cluster,
    gi_star_on_cluster,
    local_moran_on_cluster,
)
from geotranquil.distributed.partition import plan_partitions
from geotranquil.stats.emerging import PATTERNS, emerging_hot_spots
from geotranquil.stats.getis_ord import gi_star
from geotranquil.stats.moran import local_moran
from geotranquil.stats.weights import SpatialWeights
from tests.distributed.conftest import DaskCluster

PARENT = 6
WEEKS = 30


class Planted:
    """2,791 resolution-9 cells around Marseille's centre; a persistent hot spot (19 cells)
    astride two resolution-6 parents, and one that appears in the last 4 weeks (7 cells)."""

    def __init__(self) -> None:
        centre = h3i.latlng_to_cell(43.2951, 5.3745, 9)
        self.cells = np.array(sorted(h3i.grid_disk(centre, 30)), dtype=np.int64)
        index = {int(c): i for i, c in enumerate(self.cells)}
        parents = {int(c): h3i.cell_to_parent(int(c), PARENT) for c in self.cells}
        # a hot spot whose 2-disk spans two parents, so the halo matters
        hot = next(
            c
            for c in self.cells.tolist()
            if h3i.grid_distance(c, centre) < 20
            and len({parents[d] for d in h3i.grid_disk(c, 2)}) == 2
        )
        self.hot_centre = index[hot]
        self.hot = np.array(sorted(index[d] for d in h3i.grid_disk(hot, 2)))
        far = next(
            c
            for c in self.cells.tolist()
            if h3i.grid_distance(c, centre) < 20 and h3i.grid_distance(c, hot) == 15
        )
        self.new = np.array(sorted(index[d] for d in h3i.grid_disk(far, 1)))
        rng = np.random.default_rng(2026)
        self.cube = rng.poisson(1.0, size=(len(self.cells), WEEKS)).astype(np.float64)
        self.cube[self.hot] += rng.poisson(4.0, size=(len(self.hot), WEEKS))
        self.cube[self.new, -4:] += 12.0
        self.w = SpatialWeights.from_h3(self.cells, k=1)
        self.y = self.cube.sum(axis=1)


@pytest.fixture(scope="module")
def planted() -> Planted:
    p = Planted()
    parts = plan_partitions(p.cells, p.w.sparse, PARENT)
    assert len(parts) >= 5  # several parents, several tasks per worker
    return p


def test_gi_star_with_permutations_is_the_single_process_one(
    dask_cluster: DaskCluster, planted: Planted
) -> None:
    local = gi_star(planted.y, planted.w, permutations=199, seed=7)
    seen: list[tuple[int, int]] = []
    dist = gi_star_on_cluster(
        dask_cluster.client,
        planted.y,
        planted.w,
        planted.cells,
        PARENT,
        permutations=199,
        seed=7,
        progress=lambda done, total: seen.append((done, total)),
    )
    np.testing.assert_allclose(dist.z, local.z, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dist.z_sim, local.z_sim, rtol=0, atol=1e-12)
    assert np.array_equal(dist.p_sim, local.p_sim)  # the same draws for every cell
    assert np.array_equal(dist.p_fdr, local.p_fdr)
    assert np.array_equal(dist.gi_bin, local.gi_bin)
    assert np.array_equal(dist.cardinalities, local.cardinalities)
    total = len(plan_partitions(planted.cells, planted.w.sparse, PARENT))
    assert seen == [(i, total) for i in range(1, total + 1)]
    # the planted truth: every hot cell hot at 99 %
    assert set(dist.gi_bin[planted.hot].tolist()) == {3}


def test_local_moran_is_the_single_process_one(dask_cluster: DaskCluster, planted: Planted) -> None:
    local = local_moran(planted.y, planted.w, permutations=199, seed=11, fdr=True)
    dist = local_moran_on_cluster(
        dask_cluster.client,
        planted.y,
        planted.w,
        planted.cells,
        PARENT,
        permutations=199,
        seed=11,
        fdr=True,
    )
    for name in ("Is", "z_norm", "p_norm", "EIc", "VIc", "EI_sim", "seI_sim", "z_sim"):
        np.testing.assert_allclose(getattr(dist, name), getattr(local, name), rtol=0, atol=1e-12)
    assert np.array_equal(dist.p_sim, local.p_sim)
    assert np.array_equal(dist.q, local.q)
    assert np.array_equal(dist.significant, local.significant)
    assert np.array_equal(dist.cluster, local.cluster)
    # the planted truth: the hot spot is High-High, its centre far in the tail (FDR over
    # 2,791 cells with 199 permutations flags nothing: p_sim >= 1/200)
    assert set(dist.q[planted.hot].tolist()) == {1}
    assert dist.p_sim is not None and dist.p_sim[planted.hot_centre] == 1 / 200


def test_emerging_is_the_single_process_one(dask_cluster: DaskCluster, planted: Planted) -> None:
    local = emerging_hot_spots(planted.cube, planted.w)
    dist = emerging_on_cluster(dask_cluster.client, planted.cube, planted.w, planted.cells, PARENT)
    np.testing.assert_allclose(dist.z, local.z, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dist.trend_z, local.trend_z, rtol=0, atol=1e-12)
    assert np.array_equal(dist.significant, local.significant)  # FDR over the whole cube
    assert np.array_equal(dist.pattern_code, local.pattern_code)
    assert dist.counts() == local.counts()
    patterns = np.asarray(PATTERNS)[dist.pattern_code]
    assert set(patterns[planted.new].tolist()) <= {"new_hot", "consecutive_hot"}
    assert set(patterns[[planted.hot_centre]].tolist()) <= {"persistent_hot", "intensifying_hot"}
