"""How well a risk map anticipates where events happen: hit rate, PAI, PEI, deviance.

A risk map is judged the way police analysts use it: flag the highest-risk cells until a given
share of the study area (1 %, 5 %, 10 %, 20 %) is covered and count the events that fall in
them.

- **Hit rate** (Chainey, Tompson & Uhlig 2008, "The utility of hotspot mapping for predicting
  spatial patterns of crime", *Security Journal* 21): events in the flagged cells / all events.
- **PAI**, predictive accuracy index (Chainey et al. 2008): hit rate / share of the area
  flagged. 1 is what flagging at random gives; higher is better.
- **PEI**, predictive efficiency index (Hunt 2016, *Do crime hot spots move? Exploring the
  effects of the modifiable areal unit problem and modifiable temporal unit problem on crime
  hot spot stability*, PhD thesis, American University): hits / the most hits any choice of
  cells covering the same area could have had. 1 is a perfect map.
- **Poisson deviance**: the fit of the expected counts themselves, not only their ranking.

Flagging rule (shared by every function here). Cells are ranked by risk, highest first; ties
keep the cell order (a stable sort; NaN risks rank last). The flagged cells are the longest
prefix of that ranking whose area does not exceed ``share`` of the total, and at least the
first cell. With equal areas (``area=None``) that is ``max(1, floor(share * n))`` cells. PAI
divides by the share actually flagged, so it is not flattered by rounding.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from geotranquil.forecast.base import FloatArray, IntArray

__all__ = [
    "AREA_SHARES",
    "coverage_curve",
    "hit_rate",
    "pai",
    "pei",
    "poisson_deviance",
    "score_table",
]

#: the area shares the score table reports (1 %, 5 %, 10 %, 20 % of the study area)
AREA_SHARES = (0.01, 0.05, 0.10, 0.20)

#: relative tolerance when comparing cumulated areas with a share (0.29 * 100 is 28.999...)
_EPS = 1e-9


def _prepare(
    risk: npt.ArrayLike, actual: npt.ArrayLike, area: npt.ArrayLike | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Risk, events and area as float arrays of one length (area 1 per cell when None)."""
    r = np.asarray(risk, dtype=np.float64).ravel()
    y = np.asarray(actual, dtype=np.float64).ravel()
    if r.shape != y.shape:
        raise ValueError(f"risk has {r.size} cells, actual {y.size}")
    if r.size == 0:
        raise ValueError("no cells")
    if (y < 0).any():
        raise ValueError("actual counts must be >= 0")
    if area is None:
        a = np.ones(r.size)
    else:
        a = np.asarray(area, dtype=np.float64).ravel()
        if a.shape != r.shape:
            raise ValueError(f"area has {a.size} cells, risk {r.size}")
        if (a < 0).any() or not np.isfinite(a).all() or a.sum() <= 0:
            raise ValueError("areas must be finite, >= 0 and not all zero")
    return r, y, a


def _check_share(share: float) -> None:
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")


def _ranking(r: FloatArray) -> IntArray:
    """Cells by decreasing risk; ties in cell order; NaN last."""
    key = np.where(np.isnan(r), -np.inf, r)
    return np.asarray(np.argsort(-key, kind="stable"), dtype=np.int64)


def _flag(r: FloatArray, a: FloatArray, share: float) -> tuple[IntArray, float]:
    """The flagged cells (longest prefix within the share, at least 1) and their area."""
    order = _ranking(r)
    budget = share * float(a.sum()) * (1 + _EPS)
    k = max(1, int(np.searchsorted(np.cumsum(a[order]), budget, side="right")))
    flagged = order[:k]
    return flagged, float(a[flagged].sum())


def _best_hits(y: FloatArray, a: FloatArray, budget: float) -> float:
    """The most events cells covering at most ``budget`` of the area can hold.

    Cells are taken by decreasing events per unit area and the last one fractionally (the
    fractional knapsack bound): exactly the sum of the ``k`` largest counts with equal areas,
    and never below what any set of whole cells of that area holds, so PEI <= 1.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        dens = np.where(a > 0, y / np.where(a > 0, a, 1.0), np.inf)
    order = np.argsort(-dens, kind="stable")
    ys, as_ = y[order], a[order]
    zero = as_ == 0  # cells of no area cost nothing: all of them fit
    best = float(ys[zero].sum())
    ys, as_ = ys[~zero], as_[~zero]
    cum = np.cumsum(as_)
    k = int(np.searchsorted(cum, budget * (1 + _EPS), side="right"))
    best += float(ys[:k].sum())
    if k < ys.size:
        left = budget - (float(cum[k - 1]) if k else 0.0)
        if left > 0:
            best += float(ys[k]) * min(1.0, left / float(as_[k]))
    return best


def hit_rate(
    risk: npt.ArrayLike, actual: npt.ArrayLike, share: float, area: npt.ArrayLike | None = None
) -> float:
    """Share of the events that fall in the highest-risk cells covering ``share`` of the area.

    See the module docstring for the flagging rule. NaN when there is no event.

    Parameters
    ----------
    risk : (n,) array
        Risk (or expected count) per cell; only its ranking matters.
    actual : (n,) array of int
        Events observed per cell.
    share : float
        Share of the study area to flag, in (0, 1].
    area : (n,) array, optional
        Area of each cell (any unit); equal areas when None.

    Examples
    --------
    >>> risk = [0.9, 0.1, 0.5, 0.3, 0.0]
    >>> actual = [3, 1, 0, 4, 2]
    >>> hit_rate(risk, actual, 0.4)  # floor(0.4 * 5) = 2 cells: 0 and 2, 3 of 10 events
    0.3
    >>> hit_rate(risk, actual, 0.6)  # floor(0.6 * 5) = 3 cells: 0, 2 and 3
    0.7
    >>> hit_rate(risk, actual, 0.6, area=[1, 1, 1, 3, 1])  # 0.6 * 7 = 4.2: cell 3 overshoots
    0.3
    """
    _check_share(share)
    r, y, a = _prepare(risk, actual, area)
    total = float(y.sum())
    if total == 0:
        return math.nan
    flagged, _ = _flag(r, a, share)
    return float(y[flagged].sum()) / total


def pai(
    risk: npt.ArrayLike, actual: npt.ArrayLike, share: float, area: npt.ArrayLike | None = None
) -> float:
    """Predictive accuracy index: hit rate / share of the area actually flagged.

    Examples
    --------
    >>> pai([0.9, 0.1, 0.5, 0.3, 0.0], [3, 1, 0, 4, 2], 0.4)  # 0.3 / (2/5)
    0.75
    """
    _check_share(share)
    r, y, a = _prepare(risk, actual, area)
    total = float(y.sum())
    if total == 0:
        return math.nan
    flagged, flagged_area = _flag(r, a, share)
    if flagged_area == 0:
        return math.nan
    return float(y[flagged].sum()) * float(a.sum()) / (total * flagged_area)


def pei(
    risk: npt.ArrayLike, actual: npt.ArrayLike, share: float, area: npt.ArrayLike | None = None
) -> float:
    """Predictive efficiency index: hits / the most hits possible with the same flagged area.

    The best possible flags the cells with the most events (with unequal areas: the most
    events per unit area, the last cell counted fractionally, an upper bound; see the module
    docstring). NaN when there is no event.

    Examples
    --------
    >>> pei([0.9, 0.1, 0.5, 0.3, 0.0], [3, 1, 0, 4, 2], 0.4)  # 3 / (4 + 3)
    0.42857142857142855
    """
    _check_share(share)
    r, y, a = _prepare(risk, actual, area)
    if float(y.sum()) == 0:
        return math.nan
    flagged, flagged_area = _flag(r, a, share)
    best = _best_hits(y, a, flagged_area)
    if best == 0:
        return math.nan
    return float(y[flagged].sum()) / best


def poisson_deviance(expected: npt.ArrayLike, actual: npt.ArrayLike) -> float:
    """Mean Poisson deviance per cell: ``2 (y log(y / mu) - (y - mu))``, ``0 log 0 = 0``.

    ``mu`` is floored at 1e-9 so that a zero forecast is heavily penalised, not infinite.

    Examples
    --------
    >>> # cell 1: 2 (2 log(2/1) - 1) = 4 log 2 - 2; cell 2: 2 (0 - (0 - 0.5)) = 1
    >>> round(poisson_deviance([1.0, 0.5], [2, 0]), 12) == round((4 * math.log(2) - 1) / 2, 12)
    True
    """
    mu = np.maximum(np.asarray(expected, dtype=np.float64).ravel(), 1e-9)
    y = np.asarray(actual, dtype=np.float64).ravel()
    if mu.shape != y.shape:
        raise ValueError(f"expected has {mu.size} cells, actual {y.size}")
    if mu.size == 0:
        raise ValueError("no cells")
    if (y < 0).any():
        raise ValueError("actual counts must be >= 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        ylog = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
    return float(np.mean(2.0 * (ylog - (y - mu))))


def coverage_curve(
    risk: npt.ArrayLike,
    actual: npt.ArrayLike,
    area: npt.ArrayLike | None = None,
    points: int = 101,
) -> tuple[FloatArray, FloatArray]:
    """Hit rate against the share of the area flagged, on ``points`` shares from 0 to 1.

    Each point above 0 equals :func:`hit_rate` at that share; the curve starts at (0, 0). The
    hit rates are NaN when there is no event.

    Examples
    --------
    >>> shares, hits = coverage_curve([0.9, 0.1, 0.5, 0.3, 0.0], [3, 1, 0, 4, 2], points=6)
    >>> shares.tolist()
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    >>> hits.tolist()  # cells 0, 2, 3, 1, 4 in turn
    [0.0, 0.3, 0.3, 0.7, 0.8, 1.0]
    """
    if points < 2:
        raise ValueError(f"points must be >= 2, got {points}")
    r, y, a = _prepare(risk, actual, area)
    shares = np.arange(points) / (points - 1)
    total = float(y.sum())
    if total == 0:
        return shares, np.full(points, np.nan)
    order = _ranking(r)
    cum_area = np.cumsum(a[order])
    cum_hits = np.concatenate([[0.0], np.cumsum(y[order])])
    k = np.searchsorted(cum_area, shares * float(a.sum()) * (1 + _EPS), side="right")
    k = np.where(shares > 0, np.maximum(k, 1), 0)
    return shares, np.asarray(cum_hits[k] / total, dtype=np.float64)


def score_table(
    risk: npt.ArrayLike, actual: npt.ArrayLike, area: npt.ArrayLike | None = None
) -> dict[str, float]:
    """Hit rate, PAI and PEI at 1, 5, 10 and 20 % of the area (:data:`AREA_SHARES`).

    Keys are ``hit_1 .. hit_20``, ``pai_1 .. pai_20``, ``pei_1 .. pei_20``.

    Examples
    --------
    >>> t = score_table(np.arange(100.0)[::-1], np.r_[np.ones(10, int), np.zeros(90, int)])
    >>> t["hit_5"], t["pai_5"], t["pei_5"], t["hit_20"], t["pai_20"]
    (0.5, 10.0, 1.0, 1.0, 5.0)
    """
    out: dict[str, float] = {}
    for prefix, fn in (("hit", hit_rate), ("pai", pai), ("pei", pei)):
        for share in AREA_SHARES:
            out[f"{prefix}_{round(share * 100)}"] = fn(risk, actual, share, area)
    return out
