"""Conditional-permutation inference of local statistics (Gi*, Local Moran), shared by both.

Permutation inference (``p_sim``) uses **conditional randomisation** (Anselin 1995): for each
cell ``i`` the value ``y_i`` stays in place and its ``c_i`` neighbours (self excluded) receive
``c_i`` values drawn without replacement from the ``n - 1`` other cells. As in esda, the pseudo
p-value is *folded* (``alternative="directed"``): with ``R`` = number of random statistics
``>=`` the observed one out of ``P`` permutations, ``p_sim = (min(R, P - R) + 1) / (P + 1)`` —
a one-sided p-value in the direction of the observed deviation (at most about 0.5). Both
statistics are monotone functions of a cell's neighbour sum, so the null of the neighbour sums
(:func:`conditional_null`) serves both; :func:`block_null` gives it for the core cells of a
block (:func:`geotranquil.stats.getis_ord.gi_star_block`,
:func:`geotranquil.stats.moran.local_moran_block`).

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

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["BlockNull", "NullCounts", "block_null", "conditional_null", "folded_p"]

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


@dataclass(frozen=True)
class BlockNull:
    """The permutation null of the core cells of a block, as computed over all the cells.

    ``p_sim``: folded pseudo p-value (:func:`folded_p`) of each core cell's neighbour sum;
    ``mean``/``std``: moments of its random neighbour sums (:class:`NullCounts`).
    """

    p_sim: FloatArray
    mean: FloatArray
    std: FloatArray


def block_null(
    y_all: FloatArray | None,
    core_global: IntArray | None,
    cardinality: IntArray,
    observed: FloatArray,
    permutations: int,
    seed: int | None,
    *,
    max_cardinality: int,
) -> BlockNull:
    """:func:`conditional_null` of the core cells of a block, placed among all ``n`` cells.

    Parameters
    ----------
    y_all : ndarray of float
        Values of all the ``n`` cells (required: the draws are over all of them).
    core_global : ndarray of int
        Global index of each core cell (required).
    cardinality : ndarray of int
        Number of neighbours of each core cell, self excluded.
    observed : ndarray of float
        Observed neighbour sum of each core cell (self excluded).
    permutations, seed : int, int or None
        As :func:`conditional_null`.
    max_cardinality : int
        Maximum cardinality over *all* the cells, so that a block gets the numbers of the
        whole computation.

    Returns
    -------
    BlockNull
        The folded p-values before any statistic-specific override (islands, ties).

    Examples
    --------
    >>> y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    >>> card, obs = np.ones(5, dtype=np.int64), y[[1, 0, 1, 2, 3]]
    >>> whole = block_null(y, np.arange(5), card, obs, 99, 0, max_cardinality=1)
    >>> part = block_null(y, np.array([3, 4]), card[3:], obs[3:], 99, 0, max_cardinality=1)
    >>> bool((part.p_sim == whole.p_sim[3:]).all() and (part.std == whole.std[3:]).all())
    True
    """
    if core_global is None or y_all is None:
        raise ValueError("permutations need core_global and y_all")
    n = y_all.shape[0]
    card_all = np.zeros(n, dtype=np.int64)
    card_all[core_global] = cardinality
    obs_all = np.zeros(n)
    obs_all[core_global] = observed
    null = conditional_null(
        y_all, card_all, obs_all, permutations, seed, max_cardinality=max_cardinality
    )
    return BlockNull(
        folded_p(null.ge[core_global], null.le[core_global], permutations),
        null.mean[core_global],
        null.std[core_global],
    )
