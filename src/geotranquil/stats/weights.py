"""Spatial weights: who is the neighbour of whom, as a sparse binary matrix.

A :class:`SpatialWeights` holds an ``n × n`` scipy CSR matrix of binary weights (1 = neighbour)
over ``n`` observations, in the order of the input arrays. Row ``i`` lists the neighbours of
observation ``i``; whether ``i`` is its own neighbour (the diagonal) is explicit
(``include_self``): Getis-Ord Gi* wants it, Local Moran's I does not.

Constructors
------------
- :meth:`SpatialWeights.from_h3` — H3 k-ring among the given cells only;
- :meth:`SpatialWeights.from_distance_band` — every observation within a distance (metres);
- :meth:`SpatialWeights.space_time` — the space-time neighbourhood of emerging hot spot analysis.

This module is pure computation (numpy, scipy, h3). ``libpysal`` is imported lazily, and only by
:meth:`SpatialWeights.to_libpysal`, which exists for tests and benchmarks against PySAL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

__all__ = ["SpatialWeights"]

IntArray = npt.NDArray[np.int64]


def _binary_csr(rows: IntArray, cols: IntArray, n: int) -> sp.csr_matrix:
    data = np.ones(rows.shape[0], dtype=np.float64)
    m = sp.csr_matrix((data, (rows, cols)), shape=(n, n))
    m.sum_duplicates()
    m.data[:] = 1.0
    m.sort_indices()
    return m


@dataclass(frozen=True)
class SpatialWeights:
    """Binary spatial weights over ``n`` observations.

    Parameters
    ----------
    sparse : scipy.sparse.csr_matrix
        ``n × n`` matrix; ``sparse[i, j] == 1`` when ``j`` is a neighbour of ``i``. Any non-zero
        entry is treated as 1.

    Attributes
    ----------
    n : int
        Number of observations.
    cardinalities : ndarray of int64
        Number of neighbours of each observation (the diagonal counted when present).
    include_self : bool
        Whether every observation is its own neighbour (all diagonal entries set).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> w = SpatialWeights(sp.csr_matrix([[0, 1, 0], [1, 0, 1], [0, 1, 0]]))
    >>> w.n, w.cardinalities.tolist(), w.include_self
    (3, [1, 2, 1], False)
    >>> w.with_self().cardinalities.tolist()
    [2, 3, 2]
    """

    sparse: sp.csr_matrix

    def __post_init__(self) -> None:
        m = sp.csr_matrix(self.sparse, dtype=np.float64, copy=True)
        if m.shape[0] != m.shape[1]:
            raise ValueError(f"weights must be square, got {m.shape}")
        m.data[:] = np.where(m.data != 0, 1.0, 0.0)
        m.eliminate_zeros()
        m.sort_indices()
        object.__setattr__(self, "sparse", m)

    # ------------------------------------------------------------------ properties
    @property
    def n(self) -> int:
        """Number of observations."""
        return int(self.sparse.shape[0])

    @property
    def cardinalities(self) -> IntArray:
        """Number of neighbours of each observation (self included when on the diagonal)."""
        return np.diff(self.sparse.indptr).astype(np.int64)

    @property
    def include_self(self) -> bool:
        """True when every observation is its own neighbour."""
        return bool(self.n > 0 and (self.sparse.diagonal() != 0).all())

    @property
    def islands(self) -> IntArray:
        """Indices of observations without any neighbour other than themselves."""
        return np.flatnonzero(self.without_self().cardinalities == 0).astype(np.int64)

    # ------------------------------------------------------------------ transforms
    def with_self(self) -> SpatialWeights:
        """The same weights with every observation its own neighbour."""
        m = self.sparse.tolil(copy=True)
        m.setdiag(1.0)
        return SpatialWeights(m.tocsr())

    def without_self(self) -> SpatialWeights:
        """The same weights with the diagonal removed."""
        m = self.sparse.tolil(copy=True)
        m.setdiag(0.0)
        return SpatialWeights(m.tocsr())

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_h3(cls, cells: npt.ArrayLike, k: int = 1, include_self: bool = True) -> SpatialWeights:
        """Neighbours as the H3 k-ring (``grid_disk``) among the given cells only.

        Parameters
        ----------
        cells : array of int64
            Distinct H3 cell ids (one resolution), in the order of the observations.
        k : int, default 1
            Radius of the disk in rings: ``k=1`` is the cell's 6 immediate neighbours.
        include_self : bool, default True
            Whether a cell is its own neighbour (as Gi* requires).

        Returns
        -------
        SpatialWeights
            Cells of the disk that are not in ``cells`` are ignored, so cells on the border of
            the study area have fewer neighbours.

        Examples
        --------
        >>> import h3.api.basic_int as h3i
        >>> c = h3i.latlng_to_cell(43.2951, 5.3745, 9)
        >>> cells = sorted(h3i.grid_disk(c, 1))
        >>> w = SpatialWeights.from_h3(cells, k=1)
        >>> w.n, int(w.cardinalities.max()), int(w.cardinalities.min())
        (7, 7, 4)
        >>> SpatialWeights.from_h3(cells, k=1, include_self=False).cardinalities.max()
        np.int64(6)
        """
        import h3.api.basic_int as h3i

        ids = np.asarray(cells, dtype=np.int64).ravel()
        n = ids.shape[0]
        if k < 0:
            raise ValueError("k must be >= 0")
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        if n > 1 and (np.diff(sorted_ids) == 0).any():
            raise ValueError("cells must be distinct")
        disk = h3i.grid_disk
        disks = [disk(c, k) for c in ids.tolist()]
        lengths = np.fromiter((len(d) for d in disks), dtype=np.int64, count=n)
        flat = np.fromiter((c for d in disks for c in d), dtype=np.int64, count=int(lengths.sum()))
        rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
        pos = np.searchsorted(sorted_ids, flat)
        pos[pos == n] = 0
        found = sorted_ids[pos] == flat if n else np.zeros(0, dtype=bool)
        cols = order[pos[found]]
        rows = rows[found]
        if not include_self:
            keep = rows != cols
            rows, cols = rows[keep], cols[keep]
        w = cls(_binary_csr(rows, cols, n))
        return w.with_self() if include_self else w

    @classmethod
    def from_distance_band(
        cls,
        x_m: npt.ArrayLike,
        y_m: npt.ArrayLike,
        threshold_m: float,
        include_self: bool = True,
    ) -> SpatialWeights:
        """Neighbours as every observation within ``threshold_m`` metres (inclusive).

        Parameters
        ----------
        x_m, y_m : array of float
            Metric coordinates (for example Lambert-93 or a UTM zone), one per observation.
        threshold_m : float
            Distance band in metres; pairs at distance ``<= threshold_m`` are neighbours.
        include_self : bool, default True
            Whether an observation is its own neighbour.

        Returns
        -------
        SpatialWeights

        Examples
        --------
        >>> w = SpatialWeights.from_distance_band([0, 100, 250], [0, 0, 0], 120)
        >>> w.sparse.toarray().astype(int).tolist()
        [[1, 1, 0], [1, 1, 0], [0, 0, 1]]
        """
        from scipy.spatial import cKDTree

        xy = np.column_stack(
            [np.asarray(x_m, dtype=np.float64).ravel(), np.asarray(y_m, dtype=np.float64).ravel()]
        )
        n = xy.shape[0]
        tree = cKDTree(xy)
        pairs = tree.query_pairs(r=float(threshold_m), output_type="ndarray").astype(np.int64)
        rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
        cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
        w = cls(_binary_csr(rows, cols, n))
        return w.with_self() if include_self else w

    def space_time(self, n_bins: int, lags: int = 1) -> SpatialWeights:
        """Space-time neighbourhood of ArcGIS emerging hot spot analysis.

        Observations are ``(cell, bin)`` pairs in **cell-major** order: observation
        ``c * n_bins + t`` is cell ``c`` (the order of these weights) in time bin ``t``, i.e. a
        ``(n_cells, n_bins)`` cube raveled in C order. Its neighbours are the spatial neighbours
        of ``c``, the cell itself always included, in bins ``t - lags .. t`` (clipped at 0).

        Parameters
        ----------
        n_bins : int
            Number of time bins.
        lags : int, default 1
            Number of earlier bins in the neighbourhood (the "neighbourhood time step").

        Returns
        -------
        SpatialWeights
            ``(n_cells * n_bins) × (n_cells * n_bins)`` binary weights, self included.

        Examples
        --------
        >>> import scipy.sparse as sp
        >>> w = SpatialWeights(sp.csr_matrix([[0, 1], [1, 0]]))
        >>> st = w.space_time(3, lags=1)
        >>> st.n, st.cardinalities.tolist()
        (6, [2, 4, 4, 2, 4, 4])
        >>> sorted(st.sparse[2].indices.tolist())  # cell 0, bin 2 -> bins 1, 2 of cells 0, 1
        [1, 2, 4, 5]
        """
        if n_bins < 1 or lags < 0:
            raise ValueError("n_bins must be >= 1 and lags >= 0")
        s = self.with_self().sparse
        offsets = np.arange(0, -lags - 1, -1)
        diags = [np.ones(n_bins - j) for j in range(min(lags, n_bins - 1) + 1)]
        t = sp.diags(diags, offsets[: len(diags)].tolist(), shape=(n_bins, n_bins), format="csr")
        return SpatialWeights(sp.kron(s, t, format="csr"))

    # ------------------------------------------------------------------ interop
    def to_libpysal(self, ids: list[Any] | None = None) -> Any:
        """The same weights as a ``libpysal.weights.W`` (binary); for tests and benchmarks.

        ``libpysal`` is imported here only; it is a development dependency.
        """
        try:
            from libpysal.weights import WSP
        except ImportError as exc:  # pragma: no cover - dev dependency
            raise ImportError("to_libpysal() needs libpysal (pip install libpysal)") from exc
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = WSP(self.sparse.copy(), id_order=ids).to_W(silence_warnings=True)
        w.transform = "B"
        return w
