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

Permutation inference (``p_sim``) uses **conditional randomisation** (Anselin 1995): for each
cell ``i`` the value ``y_i`` stays in place and its ``c_i`` neighbours (self excluded) receive
``c_i`` values drawn without replacement from the ``n - 1`` other cells. As in esda, the pseudo
p-value is *folded* (``alternative="directed"``): with ``R`` = number of random statistics
``>=`` the observed one out of ``P`` permutations, ``p_sim = (min(R, P - R) + 1) / (P + 1)`` —
a one-sided p-value in the direction of the observed deviation (at most about 0.5).

Fast exact scheme (pure numpy, no numba)
----------------------------------------
esda draws *one* shared matrix of random ids for all cells (``P × c_max`` ids sampled without
replacement from ``n - 1``) and re-indexes it around each cell. We do the same sharing, and make
it pay: we draw ``P`` rows of ``c_max + 1`` distinct ids from all ``n`` cells and take the
cumulative sums of their values, so ``S_c[p]`` (the sum of the first ``c`` values of row ``p``)
is the shared null draw of every cell with ``c`` neighbours. For cell ``i`` the random neighbour
set of row ``p`` is the first ``c_i`` ids, except that when ``i`` itself is among them it is
replaced by the id in position ``c_i + 1`` (distinct from ``i`` and the others). The procedure is
equivariant under any permutation of the cells other than ``i``, hence every ``c_i``-subset of
the other cells is equally likely: it is *exactly* conditional randomisation for each cell, with
the same cross-cell sharing of random numbers as esda. Counting ``R_i`` is then one sort of
``S_c`` per distinct cardinality and one ``searchsorted`` per cell, plus a sparse correction for
the few ``(i, p)`` where ``i`` appears in row ``p`` (about ``P * c`` of ``n * P`` pairs).
Permutations are processed in chunks so memory stays bounded (a few MB). Because the random
numbers differ from esda's (numba's stream), p-values agree with esda's within Monte-Carlo
error, not bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.special import ndtr

from geotranquil.stats.fdr import fdr_adjust
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

#: Entries of the random-id matrix processed at once (bounds memory to a few tens of MB).
_CHUNK_ENTRIES = 1 << 20


@dataclass(frozen=True)
class NullCounts:
    """Per-cell summaries of the conditional-randomisation null of neighbour sums.

    ``ge``/``le``: number of permutations whose random neighbour sum is ``>=``/``<=`` the
    observed one; ``mean``/``std``: moments of the random neighbour sums of the centred values.
    """

    ge: IntArray
    le: IntArray
    mean: FloatArray
    std: FloatArray
    permutations: int


def _distinct_ids(rng: np.random.Generator, n: int, rows: int, m: int) -> IntArray:
    """``rows × m`` ids, each row ``m`` distinct draws from ``range(n)`` (uniform, ordered)."""
    if m * m <= n:  # duplicates rare: draw with replacement and redraw the bad rows
        ids = rng.integers(0, n, size=(rows, m), dtype=np.int64)
        while m > 1:
            s = np.sort(ids, axis=1)
            bad = np.flatnonzero((s[:, 1:] == s[:, :-1]).any(axis=1))
            if bad.size == 0:
                break
            ids[bad] = rng.integers(0, n, size=(bad.size, m), dtype=np.int64)
        return ids
    out = np.empty((rows, m), dtype=np.int64)
    for r in range(rows):
        out[r] = rng.choice(n, size=m, replace=False)
    return out


def conditional_null(
    y: FloatArray,
    cardinality: IntArray,
    observed: FloatArray,
    permutations: int,
    seed: int | None,
    *,
    max_cardinality: int | None = None,
) -> NullCounts:
    """Conditional-randomisation null of the neighbour sums ``sum_{j in N(i)} y_j`` (self excluded).

    The random draws are one shared matrix of cell indices, a function of ``(seed, n,
    permutations, max_cardinality)`` only: a cell's null depends on its global index and the
    seed, never on which other cells are computed with it. So computing a subset of the cells
    (cardinality 0 elsewhere, ``max_cardinality`` the maximum over *all* cells) gives those
    cells exactly the numbers of the whole computation: this is how a partition of the cells
    computed apart (:mod:`geotranquil.distributed`) agrees with one process.

    Parameters
    ----------
    y : ndarray of float
        Values of the ``n`` cells.
    cardinality : ndarray of int
        Number of neighbours of each cell, self excluded.
    observed : ndarray of float
        Observed neighbour sum of each cell (self excluded).
    permutations : int
        Number of random draws ``P``.
    seed : int or None
        Seed of ``numpy.random.default_rng``; the result is reproducible for a given seed.
    max_cardinality : int, optional
        Maximum cardinality over all the cells (default: ``max(cardinality)``); give it when
        ``cardinality`` is 0 outside a subset of the cells.

    Returns
    -------
    NullCounts
        Zeros for the cells of cardinality 0.

    Examples
    --------
    >>> y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    >>> r = conditional_null(y, np.array([1, 1, 1, 1, 1]), y[[1, 0, 1, 2, 3]], 99, seed=0)
    >>> bool(r.ge[4] + r.le[4] >= 99), r.permutations
    (True, 99)
    """
    n = y.shape[0]
    card = np.asarray(cardinality, dtype=np.int64)
    obs = np.asarray(observed, dtype=np.float64)
    ge = np.zeros(n, dtype=np.int64)
    le = np.zeros(n, dtype=np.int64)
    s1 = np.zeros(n)
    s2 = np.zeros(n)
    cmax = int(card.max()) if n else 0
    if max_cardinality is not None:
        cmax = int(max_cardinality) if n else 0
    if cmax == 0 or permutations <= 0:
        return NullCounts(ge, le, s1, s2, permutations)
    m = min(cmax + 1, n)
    yc = y - y.mean()
    rng = np.random.default_rng(seed)
    classes = [(c, np.flatnonzero(card == c)) for c in np.unique(card[card > 0]).tolist()]
    chunk = max(1, min(permutations, _CHUNK_ENTRIES // m))
    done = 0
    while done < permutations:
        rows = min(chunk, permutations - done)
        done += rows
        ids = _distinct_ids(rng, n, rows, m)
        vals = y[ids]
        csum = np.cumsum(vals, axis=1)
        ccsum = np.cumsum(yc[ids], axis=1)
        for c, members in classes:
            col = csum[:, c - 1]
            srt = np.sort(col)
            o = obs[members]
            ge[members] += rows - np.searchsorted(srt, o, side="left")
            le[members] += np.searchsorted(srt, o, side="right")
            cc = ccsum[:, c - 1]
            s1[members] += cc.sum()
            s2[members] += (cc * cc).sum()
        # Fix-ups: cell i drawn among its own first c_i ids in row p -> swap in id c_i.
        if m > 1:
            head = ids[:, : m - 1]
            p_idx, j_idx = np.nonzero(np.arange(m - 1)[None, :] < card[head])
            if p_idx.size:
                cells = head[p_idx, j_idx]
                c_i = card[cells]
                ok = c_i < m  # c_i == n - 1 == m - 1 cannot hold a replacement (n tiny)
                p_idx, cells, c_i = p_idx[ok], cells[ok], c_i[ok]
                repl = ids[p_idx, c_i]
                old = csum[p_idx, c_i - 1]
                new = old - y[cells] + y[repl]
                o = obs[cells]
                d_ge = (new >= o).astype(np.float64) - (old >= o)
                d_le = (new <= o).astype(np.float64) - (old <= o)
                ge += np.rint(np.bincount(cells, d_ge, minlength=n)).astype(np.int64)
                le += np.rint(np.bincount(cells, d_le, minlength=n)).astype(np.int64)
                oldc = ccsum[p_idx, c_i - 1]
                newc = oldc - yc[cells] + yc[repl]
                s1 += np.bincount(cells, newc - oldc, minlength=n)
                s2 += np.bincount(cells, newc * newc - oldc * oldc, minlength=n)
    mean = s1 / permutations
    var = np.maximum(s2 / permutations - mean * mean, 0.0)
    return NullCounts(ge, le, mean + card * y.mean(), np.sqrt(var), permutations)


def folded_p(ge: IntArray, le: IntArray, permutations: int) -> FloatArray:
    """Folded pseudo p-value ``(min(#perm >= obs, #perm <= obs) + 1) / (P + 1)``.

    Without ties ``#perm <= obs = P - #perm >= obs`` and this is esda's "directed" p-value
    ``(min(R, P - R) + 1) / (P + 1)``. With ties (count data: a cell whose neighbours and
    random neighbours are all zeros) a tie is as extreme in both directions, so such a cell
    gets ``p = 1`` instead of looking significant in whichever direction the fold picks.

    Examples
    --------
    >>> folded_p(np.array([0, 500, 999, 99]), np.array([999, 499, 0, 99]), 999).round(3).tolist()
    [0.001, 0.5, 0.001, 0.1]
    >>> folded_p(np.array([99]), np.array([99]), 99).tolist()  # all ties: nothing to see
    [1.0]
    """
    r = np.minimum(np.asarray(ge, dtype=np.int64), np.asarray(le, dtype=np.int64))
    return np.asarray((r + 1.0) / (permutations + 1.0), dtype=np.float64)


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
        if core_global is None or y_all is None:
            raise ValueError("permutations need core_global and y_all")
        own = y_local[core_local]
        others = card - 1
        others_all = np.zeros(n, dtype=np.int64)
        others_all[core_global] = others
        observed_all = np.zeros(n)
        observed_all[core_global] = lag - own
        null = conditional_null(
            y_all, others_all, observed_all, permutations, seed, max_cardinality=g.max_others
        )
        p_sim = folded_p(null.ge[core_global], null.le[core_global], permutations)
        p_sim[others == 0] = 1.0  # islands: nothing to permute
        with np.errstate(divide="ignore", invalid="ignore"):
            z_sim = (lag - own - null.mean[core_global]) / null.std[core_global]
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
