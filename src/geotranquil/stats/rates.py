"""Rates per 1,000 residents, raw and Empirical-Bayes smoothed.

Cells with few residents have unstable rates (2 events among 10 residents is not a hot spot):
global Empirical Bayes (Marshall 1991) shrinks each rate towards the study-area rate, the more
so the fewer residents the cell has. Cells without residents have no rate (NaN).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def raw_rate(events: npt.ArrayLike, population: npt.ArrayLike, per: float = 1000.0) -> FloatArray:
    """Events per ``per`` residents; NaN where nobody lives.

    Examples
    --------
    >>> raw_rate([2, 0, 5], [1000, 500, 0]).tolist()
    [2.0, 0.0, nan]
    """
    y = np.asarray(events, dtype=float)
    n = np.asarray(population, dtype=float)
    out = np.full(y.shape, np.nan)
    ok = n > 0
    out[ok] = y[ok] / n[ok] * per
    return out


def empirical_bayes_rate(
    events: npt.ArrayLike, population: npt.ArrayLike, per: float = 1000.0
) -> FloatArray:
    """Global Empirical Bayes smoothed rates (Marshall 1991), as PySAL's ``Empirical_Bayes``.

    With ``r_i = y_i / n_i``, the prior mean ``b = sum(y) / sum(n)`` and the prior variance
    ``a = sum(n_i (r_i - b)^2) / sum(n) - b / mean(n)`` (floored at 0), the smoothed rate is
    ``w_i r_i + (1 - w_i) b`` with ``w_i = a / (a + b / n_i)``. Only cells with residents
    take part; the others get NaN.

    Examples
    --------
    >>> r = empirical_bayes_rate([0, 1, 30, 2], [10, 1000, 1000, 1000])
    >>> [round(v, 3) for v in r.tolist()]
    [9.523, 1.618, 28.82, 2.556]
    """
    y = np.asarray(events, dtype=float)
    n = np.asarray(population, dtype=float)
    out = np.full(y.shape, np.nan)
    ok = n > 0
    if not ok.any():
        return out
    yk, nk = y[ok], n[ok]
    r = yk / nk
    b = yk.sum() / nk.sum()
    a = float(np.sum(nk * (r - b) ** 2) / nk.sum() - b / nk.mean())
    a = max(a, 0.0)
    w = a / (a + b / nk) if a > 0 else np.zeros_like(nk)
    out[ok] = (w * r + (1 - w) * b) * per
    return out
