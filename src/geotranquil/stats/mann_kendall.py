"""The Mann-Kendall trend test, vectorised over many series at once.

Null hypothesis: the values of a series are independent and identically distributed (no
monotonic trend in time). Statistic: ``S = sum_{i<j} sign(x_j - x_i)`` over all pairs of time
steps of one series; its variance under the null hypothesis with the tie correction
``var(S) = [n(n-1)(2n+5) - sum_g t_g(t_g-1)(2t_g+5)] / 18`` (``t_g`` the size of each group of
equal values); ``z`` with the continuity correction (``(S-1)/sd`` if ``S > 0``, ``(S+1)/sd`` if
``S < 0``, 0 otherwise); two-sided p-value ``2 (1 - Phi(|z|))``; Kendall's tau
``S / (n(n-1)/2)``. No randomness is involved.

The results are those of ``pymannkendall.original_test`` (Mann 1945, Kendall 1975, Gilbert 1987)
computed for a whole matrix of series (one series a row) with numpy: 30,000 series of 52 steps
take a few tens of milliseconds, where a loop over ``original_test`` takes seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr, ndtri

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = ["MannKendallResult", "mann_kendall", "sens_slope"]

#: trend labels, as ``pymannkendall``: index 0 decreasing, 1 no trend, 2 increasing
TREND_LABELS: tuple[str, str, str] = ("decreasing", "no trend", "increasing")


@dataclass(frozen=True)
class MannKendallResult:
    """Mann-Kendall results for ``m`` series (arrays of length ``m``).

    Attributes use ``pymannkendall``'s names: ``s`` (Mann-Kendall score), ``var_s`` (its
    variance with the tie correction), ``z`` (continuity-corrected normal score), ``p``
    (two-sided p-value), ``h`` (``|z|`` beyond the two-sided ``alpha`` critical value), ``tau``
    (Kendall's tau), ``direction`` (-1 decreasing, 0 no trend, +1 increasing, at ``alpha``) and
    optionally ``slope`` / ``intercept`` (Theil-Sen line, NaN when not requested).
    """

    s: FloatArray
    var_s: FloatArray
    z: FloatArray
    p: FloatArray
    h: npt.NDArray[np.bool_]
    tau: FloatArray
    direction: npt.NDArray[np.int8]
    alpha: float
    slope: FloatArray
    intercept: FloatArray

    @property
    def trend(self) -> npt.NDArray[np.str_]:
        """``'increasing'``, ``'decreasing'`` or ``'no trend'`` per series, as pymannkendall."""
        return np.asarray(TREND_LABELS)[self.direction.astype(np.int64) + 1]


def _as_matrix(x: npt.ArrayLike) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[np.newaxis, :]
    if a.ndim != 2:
        raise ValueError(f"expected a (n_series, n_steps) matrix, got shape {a.shape}")
    if a.shape[1] < 1:
        raise ValueError("series need at least one time step")
    if not np.isfinite(a).all():
        raise ValueError("series must not contain NaN or infinite values")
    return a


#: values of a block of series compared at once: the block and its differences stay in the
#: processor's cache (about 1.5 times faster on 520 steps than whole matrices, and the memory
#: is a few hundred kB whatever the number of series)
_BLOCK_VALUES = 1 << 15


def _scores(x: FloatArray) -> FloatArray:
    """``S`` per row: sum of the signs of all forward differences (by blocks of rows)."""
    m, n = x.shape
    s = np.zeros(m, dtype=np.int64)
    rows = max(1, _BLOCK_VALUES // max(n, 1))
    for lo in range(0, m, rows):
        block = x[lo : lo + rows]
        acc = s[lo : lo + rows]
        for k in range(1, n):
            d = block[:, k:] - block[:, :-k]
            acc += np.count_nonzero(d > 0, axis=1) - np.count_nonzero(d < 0, axis=1)
    return s.astype(np.float64)


def _tie_terms(x: FloatArray) -> FloatArray:
    """``sum_g t_g (t_g - 1)(2 t_g + 5)`` per row over groups of exactly equal values."""
    m, n = x.shape
    xs = np.sort(x, axis=1)
    starts = np.ones((m, n), dtype=bool)
    starts[:, 1:] = xs[:, 1:] != xs[:, :-1]
    first = np.flatnonzero(starts.ravel())
    sizes = np.diff(np.append(first, m * n)).astype(np.float64)
    rows = first // n
    terms = sizes * (sizes - 1.0) * (2.0 * sizes + 5.0)
    return np.asarray(np.bincount(rows, weights=terms, minlength=m), dtype=np.float64)


def sens_slope(x: npt.ArrayLike, *, chunk: int = 4096) -> tuple[FloatArray, FloatArray]:
    """Theil-Sen slope and Conover intercept of each row, as ``pymannkendall.sens_slope``.

    The slope is the median of ``(x_j - x_i) / (j - i)`` over all pairs ``i < j``; the
    intercept is ``median(x) - median(0..n-1) * slope``. Rows are processed in chunks of
    ``chunk`` series to bound memory (``n(n-1)/2`` values per series).

    Examples
    --------
    >>> slope, intercept = sens_slope([[1.0, 3.0, 5.0, 7.0], [4.0, 3.0, 2.0, 1.0]])
    >>> slope.tolist(), intercept.tolist()
    ([2.0, -1.0], [1.0, 4.0])
    """
    a = _as_matrix(x)
    m, n = a.shape
    slope = np.full(m, np.nan)
    if n < 2:
        return slope, np.full(m, np.nan)
    i, j = np.triu_indices(n, k=1)
    gap = (j - i).astype(np.float64)
    for lo in range(0, m, chunk):
        block = a[lo : lo + chunk]
        slope[lo : lo + chunk] = np.median((block[:, j] - block[:, i]) / gap, axis=1)
    intercept = np.median(a, axis=1) - np.median(np.arange(n)) * slope
    return slope, intercept


def mann_kendall(
    x: npt.ArrayLike, *, alpha: float = 0.05, slope: bool = False
) -> MannKendallResult:
    """Mann-Kendall trend test of every row of ``x`` (two-sided).

    Parameters
    ----------
    x : array_like, shape (n_series, n_steps) or (n_steps,)
        One series a row, in time order, without missing values.
    alpha : float
        Significance level of ``h`` and ``direction`` (two-sided critical value
        ``Phi^-1(1 - alpha/2)``, as pymannkendall).
    slope : bool
        Also compute the Theil-Sen slope and intercept (more costly; NaN otherwise).

    Returns
    -------
    MannKendallResult
        Null hypothesis: no monotonic trend (i.i.d. values). Neighbourhood: the series alone
        (all pairs of its time steps). Sidedness: two-sided. Deterministic (no seed).

    Examples
    --------
    >>> r = mann_kendall([[1, 2, 3, 4, 5, 6], [3, 3, 1, 2, 2, 3]])
    >>> r.s.tolist(), r.var_s.tolist()
    ([15.0, -1.0], [28.333333333333332, 23.666666666666668])
    >>> [round(v, 4) for v in r.p.tolist()], r.trend.tolist()
    ([0.0085, 1.0], ['increasing', 'no trend'])
    >>> [round(v, 4) for v in r.tau.tolist()]
    [1.0, -0.0667]
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be in (0, 1)")
    a = _as_matrix(x)
    m, n = a.shape
    s = _scores(a)
    var_s = (float(n * (n - 1) * (2 * n + 5)) - _tie_terms(a)) / 18.0
    sd = np.sqrt(var_s)
    safe = np.where(sd > 0, sd, 1.0)
    z = np.where(s > 0, (s - 1.0) / safe, np.where(s < 0, (s + 1.0) / safe, 0.0))
    p = 2.0 * (1.0 - ndtr(np.abs(z)))
    h = np.abs(z) > ndtri(1.0 - alpha / 2.0)
    direction = (np.sign(z) * h).astype(np.int8)
    pairs = 0.5 * n * (n - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = s / pairs if pairs > 0 else np.full(m, np.nan)
    if slope:
        sl, ic = sens_slope(a)
    else:
        sl, ic = np.full(m, np.nan), np.full(m, np.nan)
    return MannKendallResult(
        s=s,
        var_s=var_s,
        z=z,
        p=p,
        h=h,
        tau=tau,
        direction=direction,
        alpha=float(alpha),
        slope=sl,
        intercept=ic,
    )
