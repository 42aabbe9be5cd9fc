"""Partitions by H3 parent: the cores cover every cell once, and the halo is exactly the
neighbours of the core outside it, under the statistic's own weights (pure, no cluster)."""

from __future__ import annotations

import h3.api.basic_int as h3i
import numpy as np
import pytest

from geotranquil.distributed.partition import block_rows, parent_cells, plan_partitions
from geotranquil.stats.weights import SpatialWeights

CENTRE = h3i.latlng_to_cell(43.2951, 5.3745, 9)
CELLS = np.array(sorted(h3i.grid_disk(CENTRE, 25)), dtype=np.int64)


def _check(cells: np.ndarray, w: SpatialWeights, parent: int) -> int:
    parts = plan_partitions(cells, w.sparse, parent)
    cores = np.concatenate([p.core for p in parts])
    assert sorted(cores.tolist()) == list(range(len(cells)))  # each cell in one core
    parents = parent_cells(cells, parent)
    for p in parts:
        assert set(parents[p.core].tolist()) == {p.parent}
        neighbours = set(w.sparse[p.core].indices.tolist())
        # every neighbour is in the block, and the halo holds nothing else
        assert neighbours <= set(p.local.tolist())
        assert set(p.halo.tolist()) == neighbours - set(p.core.tolist())
        assert (p.local[p.core_local] == p.core).all()
        rows = block_rows(w.sparse, p)
        assert (rows.toarray() == w.sparse[p.core][:, p.local].toarray()).all()
    return len(parts)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_k_ring_halo_is_every_neighbour(k: int) -> None:
    w = SpatialWeights.from_h3(CELLS, k=k)
    assert _check(CELLS, w, 6) >= 4
    # against h3 directly: the k-disk of a core cell, within the study cells, is in its block
    parts = plan_partitions(CELLS, w.sparse, 6)
    index = {int(c): i for i, c in enumerate(CELLS)}
    for p in parts:
        local = set(p.local.tolist())
        for i in p.core.tolist():
            disk = {index[d] for d in h3i.grid_disk(int(CELLS[i]), k) if d in index}
            assert disk <= local


def test_distance_band_and_moran_weights_halo() -> None:
    xy = np.array([h3i.cell_to_latlng(int(c)) for c in CELLS])
    x = (xy[:, 1] - 5.3745) * 81_000.0
    y = (xy[:, 0] - 43.2951) * 111_000.0
    band = SpatialWeights.from_distance_band(x, y, 900.0)
    assert _check(CELLS, band, 6) >= 4
    assert _check(CELLS, SpatialWeights.from_h3(CELLS, k=1).without_self(), 6) >= 4


def test_halo_of_a_partition_with_a_known_border() -> None:
    # two cells of different parents, neighbours of each other: each is the other's halo
    a = next(
        c
        for c in CELLS.tolist()
        if len({h3i.cell_to_parent(d, 6) for d in h3i.grid_disk(c, 1)}) > 1
    )
    b = next(d for d in h3i.grid_disk(a, 1) if h3i.cell_to_parent(d, 6) != h3i.cell_to_parent(a, 6))
    cells = np.array(sorted([a, b]), dtype=np.int64)
    parts = plan_partitions(cells, SpatialWeights.from_h3(cells, k=1).sparse, 6)
    assert len(parts) == 2
    assert [p.halo.tolist() for p in parts] == [[1], [0]] or [p.halo.tolist() for p in parts] == [
        [0],
        [1],
    ]
    assert sorted(len(p.local) for p in parts) == [2, 2]


def test_cells_at_the_parent_resolution_are_their_own_parents() -> None:
    coarse = np.array(sorted(h3i.grid_disk(h3i.cell_to_parent(CENTRE, 6), 1)), dtype=np.int64)
    parts = plan_partitions(coarse, SpatialWeights.from_h3(coarse, k=1).sparse, 6)
    assert [p.parent for p in parts] == coarse.tolist()
    assert [len(p.core) for p in parts] == [1] * 7
