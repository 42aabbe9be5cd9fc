"""Partitions of cells by H3 parent, each with its halo of neighbours (pure computation).

A partition is the *core* cells sharing one H3 parent at a coarser resolution, plus the
*halo*: every neighbour of a core cell, under the very weights matrix the statistic uses (its
k-ring or distance band), that is not itself a core cell. A task computing a statistic for the
core cells from the core and halo values sees exactly the neighbourhoods of the single-process
run. Cells are referred to by their index in the analysis' arrays (their *global* index).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

__all__ = ["Partition", "block_rows", "parent_cells", "plan_partitions"]

IntArray = npt.NDArray[np.int64]

#: default H3 resolution of the partitions' parents: a resolution-6 hexagon is about 36 km²,
#: 343 cells at resolution 9 (2,401 at resolution 10); Marseille is about 15 of them
DEFAULT_PARENT_RESOLUTION = 6


@dataclass(frozen=True)
class Partition:
    """The cells of one H3 parent (core) and their neighbours (halo), by global index.

    Attributes
    ----------
    parent : int
        The H3 id of the parent cell.
    core : ndarray of int64
        Global indices of the core cells, increasing.
    local : ndarray of int64
        Global indices of the core and halo cells, increasing: the block's cells.
    core_local : ndarray of int64
        Position of each core cell in ``local``.
    """

    parent: int
    core: IntArray
    local: IntArray
    core_local: IntArray

    @property
    def halo(self) -> IntArray:
        """Global indices of the halo cells (neighbours outside the core), increasing."""
        return np.setdiff1d(self.local, self.core, assume_unique=True)


def parent_cells(cells: npt.ArrayLike, resolution: int) -> IntArray:
    """The H3 parent of each cell at ``resolution`` (a cell at or above it is its own parent).

    Examples
    --------
    >>> import h3.api.basic_int as h3i
    >>> c = h3i.latlng_to_cell(43.2951, 5.3745, 9)
    >>> parent_cells([c], 6).tolist() == [h3i.cell_to_parent(c, 6)]
    True
    >>> parent_cells([c], 12).tolist() == [c]
    True
    """
    import h3.api.basic_int as h3i

    ids = np.asarray(cells, dtype=np.int64).ravel()
    out = np.empty_like(ids)
    for i, c in enumerate(ids.tolist()):
        res = h3i.get_resolution(c)
        out[i] = c if res <= resolution else h3i.cell_to_parent(c, resolution)
    return out


def plan_partitions(
    cells: npt.ArrayLike, neighbours: sp.csr_matrix | sp.csr_array, parent_resolution: int
) -> list[Partition]:
    """Split the cells by H3 parent; each partition gets the halo its statistic needs.

    Parameters
    ----------
    cells : array of int64
        H3 ids of the cells, in the order of the analysis (global indices).
    neighbours : scipy.sparse CSR matrix, (n, n)
        The weights the statistic uses: row ``i`` holds the neighbours of cell ``i``.
    parent_resolution : int
        H3 resolution of the parents (coarser than the cells').

    Returns
    -------
    list of Partition
        In increasing parent id; cores are disjoint and cover every cell.

    Examples
    --------
    >>> import h3.api.basic_int as h3i
    >>> from geotranquil.stats.weights import SpatialWeights
    >>> centre = h3i.latlng_to_cell(43.2951, 5.3745, 8)
    >>> cells = np.array(sorted(h3i.grid_disk(centre, 6)))
    >>> w = SpatialWeights.from_h3(cells, k=1)
    >>> parts = plan_partitions(cells, w.sparse, 6)
    >>> sum(len(p.core) for p in parts) == len(cells), len(parts) > 1
    (True, True)
    >>> all(set(w.sparse[p.core].indices) <= set(p.local) for p in parts)
    True
    """
    ids = np.asarray(cells, dtype=np.int64).ravel()
    m = sp.csr_matrix(neighbours)
    if m.shape != (ids.shape[0], ids.shape[0]):
        raise ValueError(f"neighbours are {m.shape} for {ids.shape[0]} cells")
    parents = parent_cells(ids, parent_resolution)
    order = np.argsort(parents, kind="stable")
    uniq, starts = np.unique(parents[order], return_index=True)
    bounds = [*starts.tolist(), ids.shape[0]]
    out: list[Partition] = []
    for j, parent in enumerate(uniq.tolist()):
        core = np.sort(order[bounds[j] : bounds[j + 1]]).astype(np.int64)
        local = np.union1d(core, m[core].indices).astype(np.int64)
        out.append(Partition(int(parent), core, local, np.searchsorted(local, core)))
    return out


def block_rows(matrix: sp.csr_matrix | sp.csr_array, part: Partition) -> sp.csr_matrix:
    """The rows of ``part``'s core cells, columns its block's cells (core and halo).

    Columns keep the relative order of the global matrix (``local`` is increasing), so a
    row's sums run in the same order as over the whole matrix.

    Examples
    --------
    >>> m = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]]))
    >>> p = Partition(0, np.array([2]), np.array([1, 2]), np.array([1]))
    >>> block_rows(m, p).toarray().tolist()
    [[1, 1]]
    """
    m = sp.csr_matrix(matrix)
    rows = sp.csr_matrix(m[part.core][:, part.local])
    rows.sort_indices()
    return rows
