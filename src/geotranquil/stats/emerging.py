"""Emerging hot spot analysis of a space-time cube, after ArcGIS Pro's tool of that name.

The cube is ``n_cells x n_bins`` values (counts or rates), one row a cell, one column a time
bin in time order. Three steps, each a separate function:

1. :func:`space_time_gi_star` — the Getis-Ord Gi* z-score of every bin of the cube. The whole
   cube is one set of ``n_cells * n_bins`` observations; the neighbourhood of bin ``(i, t)`` is
   the spatial ring of cell ``i`` *including the cell itself* (binary weights) in bin ``t`` and
   in the ``time_lags`` previous bins (fewer at the start of the series). Mean and standard
   deviation are global, over the whole cube. The z-scores are those of
   ``esda.G_Local(y, w, transform="B", star=True)`` on the flattened cube with that
   space-time neighbourhood (analytic inference).
   Null hypothesis: the values are spatially and temporally random (any permutation of the
   cube's values is as likely). Sidedness: two-sided, ``p = 2 Phi(-|z|)``; a significant
   positive z is a hot spot (+1), a significant negative one a cold spot (-1).
2. Significance of every bin: Benjamini-Hochberg false discovery rate control at ``alpha`` over
   all the bins of the cube (``fdr=True``, as ArcGIS;
   :func:`geotranquil.stats.fdr.benjamini_hochberg`), or plain ``p < alpha``.
3. The Mann-Kendall trend test (:func:`geotranquil.stats.mann_kendall.mann_kendall`) on each
   cell's series of Gi* z-scores (two-sided, at ``trend_alpha``), then
   :func:`classify_patterns`, which sees only the significance matrix and the trend.

No step draws random numbers: everything is analytic, so no seed is taken.

Pattern rules (``n`` time steps; "90 %" means at least ``0.9 n`` of the steps, compared in
integers as ``10 * count >= 9 * n``), applied in this order of precedence, the first that
matches wins (ArcGIS's order of its pattern table):

==================  ===========================================================================
new_hot             hot in the final step, never hot before.
consecutive_hot     a single uninterrupted run of at least two hot bins ending at the final
                    step, never hot before that run, fewer than 90 % of the steps hot.
intensifying_hot    hot in >= 90 % of the steps including the final one, significant increasing
                    Mann-Kendall trend of the z-scores.
persistent_hot      hot in >= 90 % of the steps including the final one, no significant trend.
diminishing_hot     hot in >= 90 % of the steps including the final one, significant decreasing
                    trend.
sporadic_hot        hot in the final step, on and off (none of the above), fewer than 90 % hot,
                    never a significant cold spot.
oscillating_hot     hot in the final step, fewer than 90 % hot, a significant cold spot in some
                    earlier step.
historical_hot      hot in >= 90 % of the steps, but not in the final one.
*_cold              the same eight rules with hot and cold swapped (an intensifying cold spot
                    has a significant *decreasing* trend of its z-scores, a diminishing one an
                    increasing trend).
no_pattern          none of the above.
==================  ===========================================================================

All hot patterns are tested before the cold ones. Two choices where ArcGIS's wording leaves
room: ArcGIS's "persistent" does not mention the final step, but a cell hot in >= 90 % of the
steps that is not hot in the final one is classified ``historical_hot`` (as the issue defines
it), so intensifying / persistent / diminishing all require the final step; and, as in ArcGIS's
wording, "new" and "consecutive" only look at earlier *hot* bins (an earlier cold bin does not
prevent them; it makes the cell oscillating only when the hot history is longer than one run).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.special import ndtr

from geotranquil.stats.fdr import benjamini_hochberg
from geotranquil.stats.mann_kendall import mann_kendall
from geotranquil.stats.weights import SpatialWeights

FloatArray = npt.NDArray[np.float64]
Int8Array = npt.NDArray[np.int8]

__all__ = [
    "PATTERNS",
    "PATTERN_LABELS_FR",
    "CubeGlobals",
    "EmergingBlock",
    "EmergingResult",
    "classify_patterns",
    "cube_globals",
    "emerging_block",
    "emerging_block_of",
    "emerging_hot_spots",
    "emerging_result",
    "space_time_block",
    "space_time_gi_star",
    "spatial_csr",
]

#: pattern names; a pattern code is an index into this tuple
PATTERNS: tuple[str, ...] = (
    "no_pattern",
    "new_hot",
    "consecutive_hot",
    "intensifying_hot",
    "persistent_hot",
    "diminishing_hot",
    "sporadic_hot",
    "oscillating_hot",
    "historical_hot",
    "new_cold",
    "consecutive_cold",
    "intensifying_cold",
    "persistent_cold",
    "diminishing_cold",
    "sporadic_cold",
    "oscillating_cold",
    "historical_cold",
)

#: French labels for the maps and reports (ArcGIS Pro's French wording)
PATTERN_LABELS_FR: dict[str, str] = {
    "no_pattern": "Aucune tendance",
    "new_hot": "Nouveau point chaud",
    "consecutive_hot": "Point chaud consécutif",
    "intensifying_hot": "Point chaud en intensification",
    "persistent_hot": "Point chaud persistant",
    "diminishing_hot": "Point chaud en diminution",
    "sporadic_hot": "Point chaud sporadique",
    "oscillating_hot": "Point chaud oscillant",
    "historical_hot": "Point chaud historique",
    "new_cold": "Nouveau point froid",
    "consecutive_cold": "Point froid consécutif",
    "intensifying_cold": "Point froid en intensification",
    "persistent_cold": "Point froid persistant",
    "diminishing_cold": "Point froid en diminution",
    "sporadic_cold": "Point froid sporadique",
    "oscillating_cold": "Point froid oscillant",
    "historical_cold": "Point froid historique",
}

_CODE = {name: np.int8(i) for i, name in enumerate(PATTERNS)}


def spatial_csr(spatial: SpatialWeights | sp.spmatrix | sp.sparray) -> sp.csr_matrix:
    """The binary spatial neighbour matrix, with the diagonal (self) set to 1.

    Examples
    --------
    >>> spatial_csr(sp.csr_matrix([[0, 2], [1, 0]])).toarray().tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    if isinstance(spatial, SpatialWeights):
        spatial = spatial.sparse
    elif not sp.issparse(spatial):
        raise TypeError("spatial must be a SpatialWeights or a scipy.sparse matrix")
    a = sp.csr_matrix(spatial, dtype=np.float64, copy=True)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"spatial weights must be square, got {a.shape}")
    a.data[:] = np.where(a.data != 0, 1.0, 0.0)
    a.eliminate_zeros()
    a.setdiag(1.0)
    a.sort_indices()
    return a


def _window_sums(cube: FloatArray, time_lags: int) -> FloatArray:
    """``out[:, t] = sum(cube[:, max(0, t - time_lags) : t + 1])``."""
    out = cube.copy()
    for lag in range(1, min(time_lags, cube.shape[1] - 1) + 1):
        out[:, lag:] += cube[:, :-lag]  # direct sums: no cumulative rounding for rates
    return out


def space_time_gi_star(
    cube: npt.ArrayLike, spatial: SpatialWeights | sp.spmatrix | sp.sparray, *, time_lags: int = 1
) -> FloatArray:
    """Gi* z-score of every bin of a space-time cube (analytic, binary weights, self included).

    Parameters
    ----------
    cube : array_like, shape (n_cells, n_bins)
        Values per cell and time bin (time in column order).
    spatial : SpatialWeights or scipy.sparse matrix, shape (n_cells, n_cells)
        Spatial neighbours (any non-zero is a neighbour; the cell itself is always included).
    time_lags : int
        Number of previous bins in the neighbourhood (0: purely spatial per bin).

    Returns
    -------
    ndarray, shape (n_cells, n_bins)
        ``z[i, t] = (L - W xbar) / (S sqrt((N W - W^2) / (N - 1)))`` with ``L`` the sum of the
        values in the space-time neighbourhood of ``(i, t)``, ``W`` its size, ``N`` the number
        of bins of the cube, ``xbar`` and ``S`` the cube's mean and population standard
        deviation. Equal to esda's ``G_Local(transform="B", star=True).Zs`` on the flattened
        cube. Null hypothesis: spatial-temporal randomness; two-sided. A constant cube has
        z = 0 everywhere.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> line = sp.diags([1.0, 1.0], [-1, 1], shape=(3, 3))  # cells 0-1-2 in a row
    >>> z = space_time_gi_star([[0, 0], [0, 1], [0, 9]], line, time_lags=1)
    >>> [round(v, 3) for v in z[:, 1].tolist()]
    [-1.358, 0.0, 0.799]
    """
    x = np.asarray(cube, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"cube must be (n_cells, n_bins), got shape {x.shape}")
    if time_lags < 0:
        raise ValueError("time_lags must be >= 0")
    a = spatial_csr(spatial)
    n_cells = x.shape[0]
    if a.shape[0] != n_cells:
        raise ValueError(f"spatial weights are for {a.shape[0]} cells, the cube has {n_cells}")
    if not np.isfinite(x).all():
        raise ValueError("cube must not contain NaN or infinite values")
    return space_time_block(x, a, cube_globals(x), time_lags=time_lags)


@dataclass(frozen=True)
class CubeGlobals:
    """What every bin's space-time Gi* needs from the whole cube: its size, mean and
    population standard deviation."""

    size: int
    mean: float
    std: float


def cube_globals(cube: npt.ArrayLike) -> CubeGlobals:
    """Size, mean and population standard deviation of the whole cube.

    Examples
    --------
    >>> cube_globals([[0.0, 2.0], [2.0, 0.0]])
    CubeGlobals(size=4, mean=1.0, std=1.0)
    """
    x = np.asarray(cube, dtype=np.float64)
    return CubeGlobals(size=int(x.size), mean=float(x.mean()), std=float(x.std()))


def space_time_block(
    x_local: FloatArray, rows: sp.csr_matrix, g: CubeGlobals, *, time_lags: int = 1
) -> FloatArray:
    """Space-time Gi* z-scores of the core cells of a block of the cube.

    Parameters
    ----------
    x_local : ndarray, shape (n_local, n_bins)
        The cube's rows of the block's cells (core and halo: every spatial neighbour of a core
        cell), all the bins, in increasing global order.
    rows : scipy.sparse.csr_matrix, shape (n_core, n_local)
        The spatial neighbours of the core cells (self included, binary), columns the block's
        cells.
    g : CubeGlobals
        The whole cube's size, mean and standard deviation (:func:`cube_globals`).
    time_lags : int
        Previous bins in the neighbourhood.

    Returns
    -------
    ndarray, shape (n_core, n_bins)
        The z-scores of :func:`space_time_gi_star` for the core cells.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> a = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1.0]]))
    >>> cube = np.array([[0, 0], [0, 1], [0, 9.0]])
    >>> z = space_time_block(cube[1:], a[[2]][:, [1, 2]], cube_globals(cube))
    >>> round(float(z[0, 1]), 3)  # cell 2 computed with its neighbour 1 only
    0.799
    """
    n_bins = x_local.shape[1]
    n = float(g.size)
    mean = g.mean
    std = g.std
    lag = np.asarray(rows @ _window_sums(x_local, time_lags))
    k = np.asarray(rows.sum(axis=1)).ravel()
    steps = np.minimum(np.arange(n_bins), time_lags) + 1.0
    w = k[:, np.newaxis] * steps[np.newaxis, :]
    den = std * np.sqrt((n * w - w * w) / (n - 1.0)) if n > 1 else np.zeros_like(w)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(den > 0, (lag - w * mean) / np.where(den > 0, den, 1.0), 0.0)
    return z


def _significance(p: FloatArray, alpha: float, fdr: bool) -> npt.NDArray[np.bool_]:
    """Significant bins: Benjamini-Hochberg over the whole cube, or plain ``p < alpha``."""
    if fdr:
        return benjamini_hochberg(p, alpha=alpha).reshape(p.shape)
    return p < alpha


def _trailing_run(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Length of the run of True values ending at the last column, per row."""
    rev = mask[:, ::-1]
    first_false = np.argmax(~rev, axis=1)
    return np.where(rev.all(axis=1), mask.shape[1], first_false).astype(np.int64)


def classify_patterns(
    sig: npt.ArrayLike, trend_p: npt.ArrayLike, trend_z: npt.ArrayLike, alpha: float = 0.05
) -> Int8Array:
    """Emerging pattern code of each cell from its significance series and its trend.

    Parameters
    ----------
    sig : array_like of int, shape (n_cells, n_bins)
        +1 significant hot spot, -1 significant cold spot, 0 not significant, in time order.
    trend_p, trend_z : array_like, shape (n_cells,)
        Mann-Kendall p-value and z of each cell's Gi* z-score series.
    alpha : float
        A trend is significant when ``trend_p < alpha``; its direction is the sign of
        ``trend_z``.

    Returns
    -------
    ndarray of int8, shape (n_cells,)
        Indices into :data:`PATTERNS`, by the rules and precedence of the module docstring.

    Examples
    --------
    >>> sig = [[0, 0, 0, 0, 0, 0, 0, 0, 0, 1],   # hot only in the final step
    ...        [0, 0, 0, 0, 0, 0, 0, 1, 1, 1],   # one final run
    ...        [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],   # always hot, no trend
    ...        [1, 1, 1, 1, 1, 1, 1, 1, 1, 0],   # hot but not any more
    ...        [1, 0, 0, 1, 0, 1, 0, 0, 1, 1],   # on and off, never cold
    ...        [-1, -1, 0, 0, 0, 0, 1, 0, 1, 1], # cold before, hot now
    ...        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]
    >>> codes = classify_patterns(sig, [1.0] * 7, [0.0] * 7)
    >>> [PATTERNS[c] for c in codes]  # doctest: +NORMALIZE_WHITESPACE
    ['new_hot', 'consecutive_hot', 'persistent_hot', 'historical_hot', 'sporadic_hot',
     'oscillating_hot', 'no_pattern']
    """
    s = np.asarray(sig)
    if s.ndim != 2 or s.shape[1] < 1:
        raise ValueError(f"sig must be (n_cells, n_bins) with n_bins >= 1, got {s.shape}")
    tp = np.asarray(trend_p, dtype=np.float64).ravel()
    tz = np.asarray(trend_z, dtype=np.float64).ravel()
    if tp.shape[0] != s.shape[0] or tz.shape[0] != s.shape[0]:
        raise ValueError("trend_p and trend_z need one value per row of sig")
    n = s.shape[1]
    trend_sig = tp < alpha
    up = trend_sig & (tz > 0)
    down = trend_sig & (tz < 0)
    out = np.zeros(s.shape[0], dtype=np.int8)
    decided = np.zeros(s.shape[0], dtype=bool)
    for side, rising, falling in (("hot", up, down), ("cold", down, up)):
        this = s == (1 if side == "hot" else -1)
        other = s == (-1 if side == "hot" else 1)
        count = this.sum(axis=1)
        ninety = 10 * count >= 9 * n
        final = this[:, -1]
        run = _trailing_run(this)
        other_any = other.any(axis=1)
        rules = (
            ("new", final & (count == 1)),
            ("consecutive", final & (run >= 2) & (count == run) & ~ninety),
            ("intensifying", final & ninety & rising),
            ("persistent", final & ninety & ~trend_sig),
            ("diminishing", final & ninety & falling),
            ("sporadic", final & ~ninety & ~other_any),
            ("oscillating", final & ~ninety & other_any),
            ("historical", ~final & ninety),
        )
        for name, match in rules:
            hit = match & ~decided
            out[hit] = _CODE[f"{name}_{side}"]
            decided |= hit
    return out


@dataclass(frozen=True)
class EmergingResult:
    """Emerging hot spot analysis of one cube.

    Per cell and bin (``n_cells x n_bins``): ``z`` (space-time Gi* z-score), ``p`` (two-sided
    p-value) and ``significant`` (+1 hot, -1 cold, 0 not significant after FDR if asked).
    Per cell: ``pattern_code`` (index into :data:`PATTERNS`), ``trend_z``, ``trend_p``,
    ``tau`` and ``trend_s`` (Mann-Kendall test of the cell's z series), ``n_hot``, ``n_cold``.
    """

    z: FloatArray
    p: FloatArray
    significant: Int8Array
    pattern_code: Int8Array
    trend_z: FloatArray
    trend_p: FloatArray
    tau: FloatArray
    trend_s: FloatArray
    n_hot: npt.NDArray[np.int64]
    n_cold: npt.NDArray[np.int64]
    alpha: float
    trend_alpha: float
    fdr: bool
    time_lags: int

    @property
    def pattern(self) -> npt.NDArray[np.str_]:
        """Pattern name of each cell (``'new_hot'``, ..., ``'no_pattern'``)."""
        return np.asarray(PATTERNS)[self.pattern_code.astype(np.int64)]

    @property
    def pattern_fr(self) -> npt.NDArray[np.str_]:
        """French label of each cell's pattern."""
        return np.asarray([PATTERN_LABELS_FR[p] for p in PATTERNS])[
            self.pattern_code.astype(np.int64)
        ]

    def counts(self) -> dict[str, int]:
        """Number of cells in each pattern (all 17 keys, in :data:`PATTERNS` order)."""
        c = np.bincount(self.pattern_code.astype(np.int64), minlength=len(PATTERNS))
        return {name: int(c[i]) for i, name in enumerate(PATTERNS)}


def emerging_hot_spots(
    cube: npt.ArrayLike,
    spatial: SpatialWeights | sp.spmatrix | sp.sparray,
    *,
    time_lags: int = 1,
    alpha: float = 0.05,
    fdr: bool = True,
    trend_alpha: float | None = None,
) -> EmergingResult:
    """Emerging hot spot analysis (ArcGIS Pro's definitions) of a cells x bins cube.

    Parameters
    ----------
    cube : array_like, shape (n_cells, n_bins)
        Counts or rates per cell and time bin, time in column order, no missing values (an
        empty bin is 0).
    spatial : SpatialWeights or scipy.sparse matrix, shape (n_cells, n_cells)
        Spatial neighbours of each cell (e.g. the k-ring); the cell itself is always included.
    time_lags : int
        Previous bins in the space-time neighbourhood (ArcGIS's neighbourhood time step;
        default 1).
    alpha : float
        Significance level of each bin (two-sided; FDR level when ``fdr``).
    fdr : bool
        Benjamini-Hochberg false discovery rate control over all the bins of the cube.
    trend_alpha : float, optional
        Significance level of the Mann-Kendall trend (two-sided); ``alpha`` by default.

    Returns
    -------
    EmergingResult
        Null hypotheses: spatial-temporal randomness of the values (Gi*), no monotonic trend of
        a cell's z-scores (Mann-Kendall). Neighbourhood: spatial ring plus self, in the current
        bin and the ``time_lags`` previous ones. Both tests two-sided; no randomness (no seed).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> ring = sp.diags([1.0, 1.0], [-1, 1], shape=(40, 40))  # 40 cells on a line
    >>> cube = np.ones((40, 10))
    >>> cube[:3, -1] = 30  # a cluster that appears in the last bin
    >>> r = emerging_hot_spots(cube, ring)
    >>> r.pattern[:5].tolist()
    ['new_hot', 'new_hot', 'new_hot', 'new_hot', 'no_pattern']
    >>> r.counts()["new_hot"], str(r.pattern_fr[0])
    (4, 'Nouveau point chaud')
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be in (0, 1)")
    t_alpha = alpha if trend_alpha is None else float(trend_alpha)
    z = space_time_gi_star(cube, spatial, time_lags=time_lags)
    block = emerging_block_of(z, trend_alpha=t_alpha)
    return emerging_result(block, alpha=alpha, fdr=fdr, trend_alpha=t_alpha, time_lags=time_lags)


@dataclass(frozen=True)
class EmergingBlock:
    """Space-time z-scores and trend tests of some cells (a block), before the significance
    of the bins (FDR over the whole cube)."""

    z: FloatArray
    trend_z: FloatArray
    trend_p: FloatArray
    tau: FloatArray
    trend_s: FloatArray


def emerging_block_of(z: FloatArray, *, trend_alpha: float) -> EmergingBlock:
    """The Mann-Kendall test of each cell's z-score series (one row a cell).

    Examples
    --------
    >>> b = emerging_block_of(np.array([[0.0, 1.0, 2.0, 3.0]]), trend_alpha=0.05)
    >>> b.trend_s.tolist()
    [6.0]
    """
    mk = mann_kendall(z, alpha=trend_alpha)
    return EmergingBlock(z=z, trend_z=mk.z, trend_p=mk.p, tau=mk.tau, trend_s=mk.s)


def emerging_block(
    x_local: FloatArray,
    rows: sp.csr_matrix,
    g: CubeGlobals,
    *,
    time_lags: int = 1,
    trend_alpha: float = 0.05,
) -> EmergingBlock:
    """Space-time z-scores (:func:`space_time_block`) and trends of a block's core cells.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> a = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1.0]]))
    >>> cube = np.array([[0, 0, 1], [0, 1, 2], [0, 9, 9.0]])
    >>> b = emerging_block(cube[1:], a[[2]][:, [1, 2]], cube_globals(cube))
    >>> b.z.shape, b.trend_s.tolist()
    ((1, 3), [3.0])
    """
    z = space_time_block(x_local, rows, g, time_lags=time_lags)
    return emerging_block_of(z, trend_alpha=trend_alpha)


def emerging_result(
    block: EmergingBlock, *, alpha: float, fdr: bool, trend_alpha: float, time_lags: int
) -> EmergingResult:
    """The emerging result of all the cells (one block of them all): significance of every
    bin (FDR over the whole cube, done once) and the patterns."""
    z = block.z
    t_alpha = trend_alpha
    p = 2.0 * ndtr(-np.abs(z))
    sig_mask = _significance(p, alpha, fdr)
    significant = (np.sign(z) * sig_mask).astype(np.int8)
    codes = classify_patterns(significant, block.trend_p, block.trend_z, t_alpha)
    return EmergingResult(
        z=z,
        p=p,
        significant=significant,
        pattern_code=codes,
        trend_z=block.trend_z,
        trend_p=block.trend_p,
        tau=block.tau,
        trend_s=block.trend_s,
        n_hot=(significant == 1).sum(axis=1).astype(np.int64),
        n_cold=(significant == -1).sum(axis=1).astype(np.int64),
        alpha=float(alpha),
        trend_alpha=t_alpha,
        fdr=fdr,
        time_lags=time_lags,
    )
