"""Getis-Ord Gi* local hot spot statistic, with analytic and permutation inference.

Definitions (Getis & Ord 1992; Ord & Getis 1995), identical to PySAL esda
``G_Local(y, w, transform="B", star=True)``:

- binary weights ``w_ij`` with the cell itself included (``w_ii = 1``): the *neighbourhood* is
  the H3 k-ring or the distance band of :class:`~geotranquil.stats.weights.SpatialWeights`,
  self always added;
- ``Gs_i = sum_j w_ij y_j / sum_j y_j``;
- expectation ``EGs_i = W_i / n`` with ``W_i = sum_j w_ij`` (the cardinality, self included);
- variance ``VGs_i = W_i (n - W_i) / ((n - 1) n^2) * s^2 / ybar^2`` with the population
  mean ``ybar`` and variance ``s^2 = mean(y^2) - ybar^2`` of all ``n`` values;
- ``z = (Gs - EGs) / sqrt(VGs)`` (esda's ``Zs``).

**Null hypothesis**: the values are randomly distributed over the cells (no spatial
association). **Sidedness**: ``p_norm`` is *two-sided*, ``2 * (1 - Phi(|z|))``, as ArcGIS "Hot
Spot Analysis" reports it (esda's ``p_norm`` is the one-sided half of it). A positive ``z``
indicates a hot spot, a negative one a cold spot.

Permutation inference (``p_sim``) is conditional randomisation with esda's folded pseudo
p-value, by the exact shared-draw scheme of :mod:`geotranquil.stats.permutation` (the null of
the neighbour sums, self excluded).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.special import ndtr

from geotranquil.stats.fdr import fdr_adjust
from geotranquil.stats.permutation import block_null
from geotranquil.stats.permutation import conditional_null as conditional_null  # its former home
from geotranquil.stats.weights import SpatialWeights

__all__ = [
    "GI_BIN_LABELS_FR",
    "GetisOrdGiStar",
    "GiBlock",
    "GiGlobals",
    "cell_values",
    "gi_globals",
    "gi_star",
    "gi_star_block",
    "gi_star_result",
]

#: Gi_Bin -> French label (ArcGIS Pro's confidence bins)
GI_BIN_LABELS_FR: dict[int, str] = {
    3: "Point chaud — 99 %",
    2: "Point chaud — 95 %",
    1: "Point chaud — 90 %",
    0: "Non significatif",
    -1: "Point froid — 90 %",
    -2: "Point froid — 95 %",
    -3: "Point froid — 99 %",
}

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def cell_values(y: npt.ArrayLike, w: SpatialWeights) -> FloatArray:
    """The values ``y`` as a flat float array, checked to be one per observation of ``w``.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> cell_values([[1], [2]], SpatialWeights(sp.csr_matrix([[0, 1], [1, 0]]))).tolist()
    [1.0, 2.0]
    """
    yv = np.asarray(y, dtype=np.float64).ravel()
    if yv.shape[0] != w.n:
        raise ValueError(f"{yv.shape[0]} values for weights over {w.n} observations")
    return yv


@dataclass(frozen=True)
class GiBlock:
    """Gi* of some cells (a block), before the confidence bins (which need all the cells)."""

    Gs: FloatArray
    EGs: FloatArray
    VGs: FloatArray
    z: FloatArray
    p_norm: FloatArray
    p_sim: FloatArray | None
    z_sim: FloatArray | None
    p_z_sim: FloatArray | None
    cardinalities: IntArray


@dataclass(frozen=True)
class GetisOrdGiStar(GiBlock):
    """Result of :func:`gi_star`; names as in Getis & Ord and PySAL esda.

    Attributes
    ----------
    Gs : ndarray
        The Gi* statistic of each cell.
    EGs, VGs : ndarray
        Its expectation and variance under the null (normal approximation).
    z : ndarray
        Analytic z-score (esda ``Zs``).
    p_norm : ndarray
        Two-sided analytic p-value ``2 * (1 - Phi(|z|))``.
    p_sim : ndarray or None
        Folded pseudo p-value from conditional permutations (None when ``permutations=0``).
    z_sim, p_z_sim : ndarray or None
        z-score against the permutation mean and standard deviation, and its one-sided normal
        p-value (as esda).
    p_fdr : ndarray
        Benjamini-Hochberg adjusted p-value of the p-value used for the bins.
    gi_bin : ndarray of int8
        ``+3/+2/+1`` hot spot at 99/95/90 %, ``0`` not significant, ``-1/-2/-3`` cold spot.
    """

    p_fdr: FloatArray
    gi_bin: npt.NDArray[np.int8]
    permutations: int
    seed: int | None
    fdr: bool
    inference: str

    @property
    def Zs(self) -> FloatArray:  # noqa: N802 - esda's name
        """Alias of :attr:`z` (esda's name)."""
        return self.z

    @property
    def n(self) -> int:
        """Number of cells."""
        return int(self.z.shape[0])


def _bins(sign: FloatArray, p: FloatArray, fdr: bool) -> tuple[FloatArray, npt.NDArray[np.int8]]:
    score = fdr_adjust(p) if fdr else p.astype(np.float64, copy=True)
    level = np.zeros(p.shape, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        for k, alpha in ((1, 0.10), (2, 0.05), (3, 0.01)):
            level[score <= alpha] = k
    return score, (level * np.sign(sign)).astype(np.int8)


def gi_star(
    y: npt.ArrayLike,
    w: SpatialWeights,
    *,
    permutations: int = 0,
    seed: int | None = None,
    fdr: bool = True,
    inference: str = "norm",
) -> GetisOrdGiStar:
    """Getis-Ord Gi* of every cell, with hot/cold spot confidence bins (``Gi_Bin``).

    Parameters
    ----------
    y : array of float
        Value of each cell (counts, rates), non-negative with a positive sum.
    w : SpatialWeights
        Neighbourhood (binary); the cell itself is always added (Gi*).
    permutations : int, default 0
        Number of conditional permutations for ``p_sim``; 0 disables them.
    seed : int or None
        Seed of the permutations (reproducible for a given seed).
    fdr : bool, default True
        Apply Benjamini-Hochberg at 90/95/99 % to the bins, as ArcGIS does.
    inference : {"norm", "sim"}, default "norm"
        Which p-value classifies the cells: analytic two-sided ``p_norm`` (ArcGIS) or the
        folded permutation ``p_sim`` (requires ``permutations > 0``).

    Returns
    -------
    GetisOrdGiStar

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> line = sp.diags([1.0, 1.0], [-1, 1], shape=(6, 6))
    >>> r = gi_star([0, 0, 1, 1, 9, 9], SpatialWeights(line), permutations=99, seed=1)
    >>> r.z.round(3).tolist()  # equal to esda G_Local(star=True, transform="B").Zs
    [-1.309, -1.666, -1.48, 0.185, 1.666, 2.225]
    >>> r.p_norm.round(3).tolist()  # two-sided
    [0.191, 0.096, 0.139, 0.853, 0.096, 0.026]
    >>> r.gi_bin.tolist()  # with FDR over 6 tests nothing is significant
    [0, 0, 0, 0, 0, 0]
    >>> gi_star([0, 0, 1, 1, 9, 9], SpatialWeights(line), fdr=False).gi_bin.tolist()
    [0, -1, 0, 0, 1, 2]
    >>> r.p_sim is not None and r.p_sim.shape
    (6,)
    """
    if inference not in ("norm", "sim"):
        raise ValueError("inference must be 'norm' or 'sim'")
    if inference == "sim" and permutations <= 0:
        raise ValueError("inference='sim' needs permutations > 0")
    yv = cell_values(y, w)
    n = yv.shape[0]
    ws = w.with_self().sparse
    g = gi_globals(yv, ws)
    every = np.arange(n, dtype=np.int64)
    block = gi_star_block(
        yv, ws, every, g, permutations=permutations, seed=seed, core_global=every, y_all=yv
    )
    return gi_star_result(block, permutations=permutations, seed=seed, fdr=fdr, inference=inference)


@dataclass(frozen=True)
class GiGlobals:
    """What every cell's Gi* needs from all the cells: ``n``, the sum, mean and population
    variance of the values, and the largest number of neighbours (self excluded)."""

    n: int
    total: float
    mean: float
    var: float
    max_others: int


def gi_globals(y: npt.ArrayLike, ws: sp.csr_matrix) -> GiGlobals:
    """The global quantities of Gi* over values ``y`` and weights ``ws`` (self included).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> gi_globals([1.0, 3.0], sp.csr_matrix([[1, 1], [1, 1]]))
    GiGlobals(n=2, total=4.0, mean=2.0, var=1.0, max_others=1)
    """
    yv = np.asarray(y, dtype=np.float64).ravel()
    n = yv.shape[0]
    total = yv.sum()
    if not total > 0:
        raise ValueError("Gi* needs values with a positive sum")
    mean = total / n
    mean_sq = (yv**2).sum() / n
    card = np.diff(ws.indptr)
    return GiGlobals(
        n=n,
        total=float(total),
        mean=float(mean),
        var=float(mean_sq - mean**2),
        max_others=int(card.max()) - 1 if n else 0,
    )


def gi_star_block(
    y_local: FloatArray,
    rows: sp.csr_matrix,
    core_local: IntArray,
    g: GiGlobals,
    *,
    permutations: int = 0,
    seed: int | None = None,
    core_global: IntArray | None = None,
    y_all: FloatArray | None = None,
) -> GiBlock:
    """Gi* of the core cells of a block: its cells and their neighbours (the halo).

    Parameters
    ----------
    y_local : ndarray of float
        Values of the block's cells (core and halo), in increasing global order.
    rows : scipy.sparse.csr_matrix
        The weights' rows of the core cells (self included), columns the block's cells.
    core_local : ndarray of int
        Position of each core cell in ``y_local``.
    g : GiGlobals
        Global quantities (:func:`gi_globals` over all the cells).
    permutations, seed : int, int or None
        Conditional permutations, as :func:`gi_star`.
    core_global, y_all : ndarray, optional
        Global index of each core cell and all the values: needed for the permutations.

    Returns
    -------
    GiBlock

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> line = sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(6, 6), format="csr")
    >>> y = np.array([0, 0, 1, 1, 9, 9.0])
    >>> g = gi_globals(y, line)
    >>> cells = np.array([3, 4, 5])  # block: cells 4 and 5, with cell 3 as halo
    >>> b = gi_star_block(y[cells], line[[4, 5]][:, cells], np.array([1, 2]), g)
    >>> b.z.round(3).tolist()  # as gi_star over all six cells
    [1.666, 2.225]
    """
    lag = rows @ y_local
    card = np.diff(rows.indptr).astype(np.int64)
    n = g.n
    gs = lag / g.total
    # esda G_Local(star=True, transform="B").calc(), same operation order
    egs = card / n
    vgs = card * (n - card) / (n - 1.0)
    vgs = vgs * (1.0 / n**2)
    vgs = vgs * (g.var / g.mean**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (gs - egs) / np.sqrt(vgs)
    p_norm = 2.0 * ndtr(-np.abs(z))

    p_sim = z_sim = p_z_sim = None
    if permutations > 0:
        own = y_local[core_local]
        others = card - 1
        null = block_null(
            y_all, core_global, others, lag - own, permutations, seed, max_cardinality=g.max_others
        )
        p_sim = null.p_sim
        p_sim[others == 0] = 1.0  # islands: nothing to permute
        with np.errstate(divide="ignore", invalid="ignore"):
            z_sim = (lag - own - null.mean) / null.std
        p_z_sim = ndtr(-np.abs(z_sim))
    return GiBlock(gs, egs, vgs, z, p_norm, p_sim, z_sim, p_z_sim, card)


def gi_star_result(
    block: GiBlock, *, permutations: int, seed: int | None, fdr: bool, inference: str
) -> GetisOrdGiStar:
    """The Gi* result of all the cells (one block of them all): FDR and bins, done once."""
    p_used = block.p_norm if inference == "norm" else block.p_sim
    assert p_used is not None
    p_fdr, gi_bin = _bins(block.z, p_used, fdr)
    return GetisOrdGiStar(
        **{f.name: getattr(block, f.name) for f in fields(GiBlock)},
        p_fdr=p_fdr,
        gi_bin=gi_bin,
        permutations=permutations,
        seed=seed,
        fdr=fdr,
        inference=inference,
    )
