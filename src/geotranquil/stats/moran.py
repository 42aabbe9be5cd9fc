"""Local Moran's I (LISA, Anselin 1995) with conditional-permutation inference.

Definitions, identical to PySAL esda ``Moran_Local(y, w, transformation="r")``:

- row-standardised weights ``w_ij = 1 / c_i`` over the ``c_i`` neighbours of ``i``, the cell
  itself *excluded* (a diagonal in the given weights is dropped);
- ``z = (y - ybar) / s`` with the population standard deviation ``s``;
- ``Is_i = (n - 1) z_i sum_j w_ij z_j / sum_k z_k^2``;
- quadrant ``q`` as esda: 1 High-High, 2 Low-High, 3 Low-Low, 4 High-Low (from the signs of
  ``z_i`` and of its spatial lag);
- analytic moments under total randomisation ``EI``, ``VI`` (Sokal et al. 1998, A3-A4) and under
  conditional randomisation ``EIc``, ``VIc`` (A7-A8), with ``z_norm = (Is - EI) / sqrt(VI)``.

**Null hypothesis**: spatial randomness — the value of a cell is independent of the values of
its neighbours. **Neighbourhood**: the given weights without self, row-standardised.
**Sidedness**: ``p_sim`` is esda's folded pseudo p-value (``alternative="directed"``),
``(min(R, P - R) + 1) / (P + 1)`` with ``R`` = number of permuted ``Is >=`` the observed one:
one-sided in the direction of the observed deviation; ``p_norm`` is two-sided.

Permutations use the exact shared-draw conditional randomisation of
:func:`geotranquil.stats.permutation.conditional_null`: the random ``Is_i`` is an increasing
(``z_i > 0``) or decreasing (``z_i < 0``) affine function of the random neighbour sum, so the
counts of the neighbour sums give ``R`` directly.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.special import ndtr

from geotranquil.stats.fdr import fdr_adjust
from geotranquil.stats.getis_ord import cell_values
from geotranquil.stats.permutation import block_null
from geotranquil.stats.weights import SpatialWeights

__all__ = [
    "CLUSTER_LABELS",
    "LocalMoran",
    "MoranBlock",
    "MoranGlobals",
    "local_moran",
    "local_moran_block",
    "local_moran_result",
    "moran_globals",
]

FloatArray = npt.NDArray[np.float64]

#: Cluster label of each quadrant ``q`` (esda numbering); 0 = not significant.
CLUSTER_LABELS: dict[int, str] = {
    0: "Not significant",
    1: "High-High",
    2: "Low-High",
    3: "Low-Low",
    4: "High-Low",
}


@dataclass(frozen=True)
class _MoranCells:
    """The per-cell quantities of Local Moran shared by a block and the result."""

    Is: FloatArray
    q: npt.NDArray[np.int8]
    EI: FloatArray
    VI: FloatArray
    z_norm: FloatArray
    p_norm: FloatArray
    EIc: FloatArray
    VIc: FloatArray
    p_sim: FloatArray | None
    EI_sim: FloatArray | None
    seI_sim: FloatArray | None  # noqa: N815 - esda name
    z_sim: FloatArray | None
    p_z_sim: FloatArray | None


@dataclass(frozen=True)
class LocalMoran(_MoranCells):
    """Result of :func:`local_moran`; names as in Anselin (1995) and PySAL esda.

    Attributes
    ----------
    Is : ndarray
        Local Moran's I of each cell.
    q : ndarray of int8
        Quadrant: 1 HH, 2 LH, 3 LL, 4 HL.
    EI, VI, z_norm, p_norm : ndarray
        Total-randomisation moments, z-score and two-sided normal p-value.
    EIc, VIc : ndarray
        Conditional-randomisation moments.
    p_sim : ndarray or None
        Folded permutation pseudo p-value (None when ``permutations=0``).
    EI_sim, seI_sim, z_sim, p_z_sim : ndarray or None
        Permutation mean, standard deviation, z-score and one-sided normal p-value.
    cluster : ndarray of str
        'High-High', 'Low-Low', 'High-Low', 'Low-High' or 'Not significant'.
    """

    significant: npt.NDArray[np.bool_]
    cluster: npt.NDArray[np.str_]
    alpha: float
    permutations: int
    seed: int | None

    @property
    def n(self) -> int:
        """Number of cells."""
        return int(self.Is.shape[0])


def local_moran(
    y: npt.ArrayLike,
    w: SpatialWeights,
    *,
    permutations: int = 999,
    seed: int | None = None,
    alpha: float = 0.05,
    fdr: bool = False,
) -> LocalMoran:
    """Local Moran's I of every cell, with permutation inference and LISA cluster types.

    Parameters
    ----------
    y : array of float
        Value of each cell.
    w : SpatialWeights
        Neighbourhood; the diagonal is ignored, weights are row-standardised.
    permutations : int, default 999
        Conditional permutations for ``p_sim``; 0 disables them (clusters then use ``p_norm``).
    seed : int or None
        Seed of the permutations (reproducible for a given seed).
    alpha : float, default 0.05
        Significance level for ``cluster`` (``p <= alpha``).
    fdr : bool, default False
        Compare the Benjamini-Hochberg adjusted p-values with ``alpha`` instead.

    Returns
    -------
    LocalMoran

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> line = SpatialWeights(sp.diags([1.0, 1.0], [-1, 1], shape=(6, 6)))
    >>> r = local_moran([9, 9, 8, 0, 1, 0], line, permutations=99, seed=0)
    >>> r.Is.round(3)[[0, 1, 4, 5]].tolist()  # cells 2, 3 have a lag equal to the mean
    [0.96, 0.853, 0.746, 0.746]
    >>> r.q.tolist(), r.cluster[0]
    ([1, 1, 4, 3, 3, 3], np.str_('Not significant'))
    """
    yv = cell_values(y, w)
    n = yv.shape[0]
    b = w.without_self().sparse
    g = moran_globals(yv, b)
    every = np.arange(n, dtype=np.int64)
    block = local_moran_block(
        yv, b, every, g, permutations=permutations, seed=seed, core_global=every, y_all=yv
    )
    return local_moran_result(block, alpha=alpha, fdr=fdr, permutations=permutations, seed=seed)


@dataclass(frozen=True)
class MoranGlobals:
    """What every cell's Local Moran needs from all the cells: ``n``, mean, population
    standard deviation, ``sum z^2``, the moments ``m2``, ``m4``, ``b2`` and the largest number
    of neighbours (self excluded)."""

    n: int
    mean: float
    sd: float
    den: float
    m2: float
    m4: float
    b2: float
    max_cardinality: int


def moran_globals(y: npt.ArrayLike, b: sp.csr_matrix) -> MoranGlobals:
    """The global quantities of Local Moran over values ``y`` and weights ``b`` (no self).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> g = moran_globals([1.0, 2.0, 3.0], sp.csr_matrix([[0, 1, 0], [1, 0, 1], [0, 1, 0]]))
    >>> g.n, g.mean, round(g.den, 6), g.max_cardinality
    (3, 2.0, 3.0, 2)
    """
    yv = np.asarray(y, dtype=np.float64).ravel()
    n = yv.shape[0]
    if n < 3:
        raise ValueError("Local Moran's I needs at least 3 observations")
    mean = yv.mean()
    sd = yv.std()
    if not sd > 0:
        raise ValueError("Local Moran's I needs values that are not all equal")
    z = (yv - mean) / sd
    den = (z * z).sum()
    m2 = den / n
    m4 = (z**4).sum() / n
    b2 = m4 / m2**2
    card = np.diff(b.indptr)
    return MoranGlobals(
        n=n,
        mean=float(mean),
        sd=float(sd),
        den=float(den),
        m2=float(m2),
        m4=float(m4),
        b2=float(b2),
        max_cardinality=int(card.max()) if n else 0,
    )


@dataclass(frozen=True)
class MoranBlock(_MoranCells):
    """Local Moran of some cells (a block), before the significance (which needs them all):
    the quantities of the result and the standardised values ``z``."""

    z: FloatArray


def local_moran_block(
    y_local: FloatArray,
    rows: sp.csr_matrix,
    core_local: npt.NDArray[np.int64],
    g: MoranGlobals,
    *,
    permutations: int = 0,
    seed: int | None = None,
    core_global: npt.NDArray[np.int64] | None = None,
    y_all: FloatArray | None = None,
) -> MoranBlock:
    """Local Moran of the core cells of a block: its cells and their neighbours (the halo).

    Parameters
    ----------
    y_local : ndarray of float
        Values of the block's cells (core and halo), in increasing global order.
    rows : scipy.sparse.csr_matrix
        The binary weights' rows of the core cells (self excluded), columns the block's cells.
    core_local : ndarray of int
        Position of each core cell in ``y_local``.
    g : MoranGlobals
        Global quantities (:func:`moran_globals` over all the cells).
    permutations, seed : int, int or None
        Conditional permutations, as :func:`local_moran`.
    core_global, y_all : ndarray, optional
        Global index of each core cell and all the values: needed for the permutations.

    Returns
    -------
    MoranBlock

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> line = sp.diags([1.0, 1.0], [-1, 1], shape=(6, 6), format="csr")
    >>> y = np.array([9, 9, 8, 0, 1, 0.0])
    >>> g = moran_globals(y, line)
    >>> cells = np.array([0, 1, 2])  # block: cells 0 and 1, with cell 2 as halo
    >>> b = local_moran_block(y[cells], line[[0, 1]][:, cells], np.array([0, 1]), g)
    >>> b.Is.round(3).tolist()  # as local_moran over all six cells
    [0.96, 0.853]
    """
    n = g.n
    card = np.diff(rows.indptr).astype(np.int64)
    inv = np.zeros(card.shape[0])
    np.divide(1.0, card, out=inv, where=card > 0)
    wr = rows.multiply(inv[:, None]).tocsr()
    z_local = (y_local - g.mean) / g.sd
    z = z_local[core_local]
    den = g.den
    zl = wr @ z_local
    is_ = (n - 1) * z * zl / den
    zp = z > 0
    lp = zl > 0
    q = np.where(zp & lp, 1, np.where(~zp & lp, 2, np.where(~zp & ~lp, 3, 4))).astype(np.int8)

    # moments (esda Moran_Local.__moments)
    m2 = g.m2
    wi = np.asarray(wr.sum(axis=1)).ravel()
    wi2 = np.asarray(wr.multiply(wr).sum(axis=1)).ravel()
    eic = -(z**2 * wi) / ((n - 1) * m2)
    vic = (z / m2) ** 2 * (n / (n - 2)) * (wi2 - (wi**2 / (n - 1))) * (m2 - (z**2 / (n - 1)))
    b2 = g.b2
    n1 = n - 1
    ei = -wi / n1
    vi = wi2 * (n - b2) / n1
    vi = vi + (wi**2 - wi2) * (2 * b2 - n) / (n1 * (n - 2))
    vi = vi - (-wi / n1) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        z_norm = (is_ - ei) / np.sqrt(vi)
    p_norm = 2.0 * ndtr(-np.abs(z_norm))

    p_sim = ei_sim = se_sim = z_sim = p_z_sim = None
    if permutations > 0:
        sums = rows @ y_local  # neighbour sums (raw values: exact ties)
        null = block_null(
            y_all, core_global, card, sums, permutations, seed, max_cardinality=g.max_cardinality
        )
        p_sim = null.p_sim
        p_sim[(card == 0) | (z == 0)] = 1.0  # nothing to test
        slope = np.zeros(card.shape[0])
        np.divide((n - 1) * z, den * g.sd * card, out=slope, where=card > 0)
        ei_sim = slope * (null.mean - card * g.mean)
        se_sim = np.abs(slope) * null.std
        with np.errstate(divide="ignore", invalid="ignore"):
            z_sim = (is_ - ei_sim) / se_sim
        p_z_sim = ndtr(-np.abs(z_sim))
    return MoranBlock(
        is_, q, ei, vi, z_norm, p_norm, eic, vic, p_sim, ei_sim, se_sim, z_sim, p_z_sim, z
    )


def local_moran_result(
    block: MoranBlock, *, alpha: float, fdr: bool, permutations: int, seed: int | None
) -> LocalMoran:
    """The Local Moran result of all the cells (one block of them all): FDR and clusters."""
    p_used = block.p_sim if block.p_sim is not None else block.p_norm
    score = fdr_adjust(p_used) if fdr else p_used
    significant = np.asarray(score <= alpha, dtype=bool)
    labels = np.array([CLUSTER_LABELS[k] for k in range(5)])
    cluster = labels[np.where(significant, block.q, 0)]
    return LocalMoran(
        **{f.name: getattr(block, f.name) for f in fields(_MoranCells)},
        significant=significant,
        cluster=cluster,
        alpha=alpha,
        permutations=permutations,
        seed=seed,
    )
