"""Long-run hot spots: a Poisson regression on kernel densities at several scales.

Why this model
--------------
At a weekly horizon, where a handful of events fall among thousands of cells, the ranking of
the cells depends mostly on their *long-run* rate: recent-event methods (naive, prospective
hot-spotting, the self-exciting process) add little and the best single baseline is a kernel
density of all the past events. But no single bandwidth is right everywhere: a small one
keeps the sharp hot spots (a car park, a street) and is noisy elsewhere, a large one is stable
but blurs the hot spots. This model learns how to combine densities at several bandwidths and
over two time windows, the way a stacked ensemble combines its members, with a model small
enough to be fitted reliably on one year of history.

Each feature is a per-period rate of one cell: the quartic-kernel density of the events (with
bandwidths of 150, 300, 600, 1,000 and 1,600 m by default; kernel ``(1 - d²/h²)²``, not
normalised, so every event weighs at most 1), and the cell's own count, over all the past and
over the last 13 periods (and, for the own count, the last 4). The model is a Poisson
regression on the logarithms of these rates (``log(rate + eps)``): the expected count is a
weighted *geometric* mean of the density maps times a constant, so it ranks cells high only
where several scales agree, and it is fitted by maximum likelihood, not by hand.

Training rows are every (cell, period ``p``) from ``first_period`` to the last period whose
target is fully observed, with features from the periods before ``p`` only and, as target, the
count over the next ``horizon`` periods (4 by default): a smoother target than one period,
which suits a ranking driven by long-run rates; :meth:`MultiScaleForecaster.predict` rescales
by ``h / horizon``. Nothing is chosen on the data being forecast: the bandwidths, windows and
target length were chosen on a rolling validation within the first year of the NYC data only
(origins in weeks 30 to 51 of 2014, each fitted on the weeks before it), where this model
beat the best single kernel density (1,000 m) by about 3 % and the 300 m one by about 12 %
in PAI at 5 % of the area, and a Poisson gradient boosting on the same features did worse
(a richer model overfits the noisy weekly targets).

On the 2015 test of that benchmark (52 weekly origins with one to two years of history) the
gain did not carry over on its own: PAI at 5 % equal to the 300 m kernel density (4.53
against 4.54), better at 10 and 20 %, worse at 1 % (6.44 against 6.96); with more history the
sharp scales matter more than in the short validation windows. Averaged with the baseline
chosen on the 2014 validation (:class:`~geotranquil.forecast.boosting.EnsembleForecaster`),
it gave the best map of the benchmark at 1, 5 and 10 %.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
from scipy.spatial import cKDTree

from geotranquil.forecast.base import FloatArray, ForecastData

__all__ = ["MultiScaleForecaster", "kernel_cube"]


def kernel_cube(data: ForecastData, bandwidth_m: float) -> FloatArray:
    """Quartic-kernel weight of each period's events at every cell centroid: ``(n, T)``.

    Entry ``[i, s]`` is ``sum (1 - d²/h²)²`` over the events of period ``s`` at distance
    ``d < h`` from the centroid of cell ``i`` (``h`` the bandwidth). Without events
    (``data.events`` None), each counted event is placed at its cell's centroid.

    Examples
    --------
    >>> from datetime import date
    >>> import pandas as pd
    >>> events = pd.DataFrame({"t": [1.0, 8.0], "x": [0.0, 100.0], "y": 0.0, "cell": [0, 1]})
    >>> d = ForecastData(np.array([10, 11]), np.array([0.0, 100.0]), np.zeros(2),
    ...                  np.array([[1, 0], [0, 1]]), [date(2025, 1, 6), date(2025, 1, 13)], 7,
    ...                  events)
    >>> kernel_cube(d, 200.0).round(4).tolist()  # (1 - 1/4)^2 = 0.5625
    [[1.0, 0.5625], [0.5625, 1.0]]
    """
    if bandwidth_m <= 0:
        raise ValueError(f"bandwidth_m must be > 0, got {bandwidth_m}")
    n, t_total = data.n_cells, data.n_periods
    if data.events is None:
        counts = np.asarray(data.counts, dtype=np.int64)
        cell, period = np.nonzero(counts)
        reps = counts[cell, period]
        ex = np.repeat(data.x[cell], reps)
        ey = np.repeat(data.y[cell], reps)
        es = np.repeat(period, reps)
    else:
        ex = data.events["x"].to_numpy(dtype=np.float64)
        ey = data.events["y"].to_numpy(dtype=np.float64)
        es = np.floor(data.events["t"].to_numpy(dtype=np.float64) / data.period_days)
        es = np.clip(es, 0, max(t_total - 1, 0)).astype(np.int64)
    if n == 0 or t_total == 0 or ex.size == 0:
        return np.zeros((n, t_total))
    centroids = cKDTree(np.column_stack([data.x, data.y]))
    points = cKDTree(np.column_stack([ex, ey]))
    p = centroids.sparse_distance_matrix(points, bandwidth_m, output_type="ndarray")
    w = (1.0 - (p["v"] / bandwidth_m) ** 2) ** 2
    flat = np.bincount(p["i"] * t_total + es[p["j"]], weights=w, minlength=n * t_total)
    return np.asarray(flat.reshape(n, t_total), dtype=np.float64)


def _rates(cum: FloatArray, at: np.ndarray, window: int | None) -> FloatArray:
    """Mean per period over ``[p - window, p)`` (all of ``[0, p)`` when None), ``(n, len(at))``."""
    lo = np.zeros_like(at) if window is None else np.maximum(at - window, 0)
    return np.asarray((cum[:, at] - cum[:, lo]) / np.maximum(at - lo, 1), dtype=np.float64)


@dataclass
class MultiScaleForecaster:
    """Poisson regression on log kernel-density rates at several scales (module docstring).

    Parameters
    ----------
    bandwidths_m : sequence of float
        Quartic-kernel bandwidths (metres) of the density features.
    windows : sequence of int or None
        Windows (periods) of the density features; None is all the past.
    own_windows : sequence of int or None
        Windows of the cell's own count features.
    horizon : int
        Periods summed in the training target; ``predict(h)`` rescales by ``h / horizon``.
    first_period : int
        First period with a training row (earlier ones only feed the features).
    eps : float
        Added to every rate before the logarithm.
    alpha : float
        L2 penalty of :class:`sklearn.linear_model.PoissonRegressor`.
    max_iter : int
        Iterations of its L-BFGS solver (the log-rates are strongly correlated, so it may stop
        there before full convergence: the settings were validated with this budget).

    Attributes
    ----------
    coef_ : (F,) float64
        Fitted coefficients of the log-rates (None before a fit, or when it fell back).
    train_rows_ : int
        Training rows of the last fit.

    Examples
    --------
    >>> from datetime import date, timedelta
    >>> rng = np.random.default_rng(0)
    >>> xy = np.array([(300.0 * i, 300.0 * j) for i in range(6) for j in range(6)])
    >>> counts = rng.poisson(0.05, (36, 40)); counts[14] += rng.poisson(2.0, 40)
    >>> d = ForecastData(np.arange(36), xy[:, 0], xy[:, 1], counts,
    ...                  [date(2024, 1, 1) + timedelta(7 * k) for k in range(40)], 7, None)
    >>> risk = MultiScaleForecaster().fit(d).predict()
    >>> risk.shape, int(np.argmax(risk))
    ((36,), 14)
    """

    bandwidths_m: Sequence[float] = (150.0, 300.0, 600.0, 1000.0, 1600.0)
    windows: Sequence[int | None] = (None, 13)
    own_windows: Sequence[int | None] = (None, 13, 4)
    horizon: int = 4
    first_period: int = 8
    eps: float = 1e-3
    alpha: float = 1e-6
    max_iter: int = 300
    name: str = field(default="multiscale", kw_only=True)
    model_: Any = field(default=None, init=False, repr=False)
    features_: FloatArray | None = field(default=None, init=False, repr=False)
    coef_: FloatArray | None = field(default=None, init=False, repr=False)
    fallback_: FloatArray | None = field(default=None, init=False, repr=False)
    train_rows_: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.horizon < 1 or self.first_period < 1:
            raise ValueError("horizon and first_period must be >= 1")
        if any(b <= 0 for b in self.bandwidths_m) or self.eps <= 0:
            raise ValueError("bandwidths and eps must be > 0")

    def _features(self, cums: list[tuple[FloatArray, bool]], at: np.ndarray) -> FloatArray:
        cols = []
        for cum, own in cums:
            for w in self.own_windows if own else self.windows:
                cols.append(_rates(cum, at, w))
        # (n, len(at)) columns -> period-major rows, on the log scale
        stacked = np.stack([c.T.reshape(-1) for c in cols], axis=1)
        return np.asarray(np.log(stacked + self.eps), dtype=np.float64)

    def fit(self, data: ForecastData) -> Self:
        """Train on every (cell, period) of ``data`` from ``first_period`` on."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import PoissonRegressor

        n, t_total = data.n_cells, data.n_periods
        counts = np.asarray(data.counts, dtype=np.float64)
        zero = np.zeros((n, 1))
        cums = [(np.hstack([zero, np.cumsum(counts, axis=1)]), True)]
        for h in self.bandwidths_m:
            cums.append((np.hstack([zero, np.cumsum(kernel_cube(data, h), axis=1)]), False))
        self.features_ = self._features(cums, np.array([t_total]))
        self.fallback_ = counts.mean(axis=1) if t_total else np.zeros(n)
        self.model_, self.coef_ = None, None
        train_at = np.arange(self.first_period, t_total - self.horizon + 1)
        self.train_rows_ = n * train_at.size
        if train_at.size == 0:
            return self
        y = (cums[0][0][:, train_at + self.horizon] - cums[0][0][:, train_at]).T.reshape(-1)
        if y.sum() == 0:
            return self
        model = PoissonRegressor(alpha=self.alpha, max_iter=self.max_iter)
        with warnings.catch_warnings():  # max_iter is a setting: stopping there is expected
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model_ = model.fit(self._features(cums, train_at), y)
        self.coef_ = np.asarray(model.coef_, dtype=np.float64)
        return self

    def predict(self, horizon: int = 1) -> FloatArray:
        """Expected events per cell in the next ``horizon`` periods."""
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        if self.features_ is None or self.fallback_ is None:
            raise RuntimeError("MultiScaleForecaster is not fitted: call fit(data) first")
        if self.model_ is None:  # too little history to learn from: the mean count
            return np.asarray(self.fallback_ * horizon, dtype=np.float64)
        pred = np.asarray(self.model_.predict(self.features_), dtype=np.float64)
        return pred * (horizon / self.horizon)
