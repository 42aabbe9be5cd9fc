"""The baselines police research compares forecasts against.

Four methods, each a :class:`~geotranquil.forecast.base.Forecaster` (``fit`` on the past,
``predict`` the expected events per cell in the next ``horizon`` periods):

- :class:`NaiveRecent`: the cell's mean count over the last few periods ("what happened
  lately will happen again").
- :class:`NaiveYear`: the cell's counts in the same periods one year earlier (seasonality).
- :class:`KernelDensity`: retrospective kernel density estimation of the past events with the
  quartic kernel, the most common hot-spot map in crime analysis (Chainey, Tompson & Uhlig
  2008, "The utility of hotspot mapping for predicting spatial patterns of crime",
  *Security Journal* 21).
- :class:`ProspectiveHotspot`: Bowers, Johnson & Pease (2004), "Prospective hot-spotting: the
  future of crime mapping?", *British Journal of Criminology* 44(5): recent nearby events
  raise the risk, weighted down by distance band and by weeks elapsed.

KDE and prospective risks are surfaces, not counts. Both are turned into expected counts the
same way: the surface shapes the map and the recent total sets its level, i.e. the risk is
rescaled so that it sums, over the study area, to the training window's mean events per period
times the horizon.

Neighbour queries use :class:`scipy.spatial.cKDTree` (pairs of centroid and event within the
bandwidth), so 20,000 cells against 50,000 events take well under a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Self

import numpy as np
from scipy.spatial import cKDTree

from geotranquil.forecast.base import FloatArray, ForecastData, IntArray

__all__ = [
    "KernelDensity",
    "NaiveRecent",
    "NaiveYear",
    "ProspectiveHotspot",
    "quartic_kernel",
]

#: days in the "weeks" of :class:`ProspectiveHotspot` (whatever the period length)
WEEK_DAYS = 7


def _check_horizon(horizon: int) -> None:
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")


def _not_fitted(name: str) -> RuntimeError:
    return RuntimeError(f"{name} is not fitted: call fit(data) first")


def quartic_kernel(d: FloatArray, h: float) -> FloatArray:
    """The quartic (biweight) kernel in 2-D: ``3 / (pi h^2) * (1 - d^2/h^2)^2`` for ``d < h``.

    It integrates to 1 over the plane and is 0 at and beyond the bandwidth ``h``.

    Examples
    --------
    >>> k = quartic_kernel(np.array([0.0, 50.0, 100.0]), 100.0)
    >>> bool(np.isclose(k[1], 27 / (16 * np.pi * 100.0**2))), float(k[2])
    (True, 0.0)
    """
    if h <= 0:
        raise ValueError(f"bandwidth must be > 0, got {h}")
    u2 = (np.asarray(d, dtype=np.float64) / h) ** 2
    return np.where(u2 < 1.0, 3.0 / (math.pi * h * h) * (1.0 - u2) ** 2, 0.0)


def _pairs(data: ForecastData, ex: FloatArray, ey: FloatArray, radius: float) -> np.ndarray:
    """(cell, event, distance) for every centroid-event pair at most ``radius`` apart."""
    cells = cKDTree(np.column_stack([data.x, data.y]))
    events = cKDTree(np.column_stack([ex, ey]))
    return cells.sparse_distance_matrix(events, radius, output_type="ndarray")


def _to_expected(
    risk: FloatArray, window_cells: IntArray, n_cells: int, per_period: float
) -> FloatArray:
    """Rescale a risk surface to expected events per period summing to ``per_period``.

    When the surface is zero everywhere although there were events (the bandwidth is smaller
    than the distance from every event to a centroid), the window's counts per cell are used
    instead: that is what the kernel map degenerates to as the bandwidth shrinks.
    """
    if per_period <= 0:
        return np.zeros(n_cells)
    total = float(risk.sum())
    if total <= 0:
        risk = np.bincount(window_cells, minlength=n_cells).astype(np.float64)
        total = float(risk.sum())
    return np.asarray(risk / total * per_period, dtype=np.float64)


@dataclass
class NaiveRecent:
    """Mean count per period of each cell over the last ``weeks`` periods, times the horizon.

    ``weeks`` counts periods (weeks when ``period_days`` is 7, days when it is 1). With fewer
    periods of history, all of them are averaged.

    Attributes
    ----------
    rate_ : (n,) float64
        Expected events per cell and period, after :meth:`fit`.

    Examples
    --------
    >>> from datetime import date, timedelta
    >>> import pandas as pd
    >>> counts = np.array([[1, 2, 3, 5], [0, 0, 4, 0]])
    >>> d = ForecastData(np.array([10, 11]), np.zeros(2), np.zeros(2), counts,
    ...                  [date(2025, 1, 6) + timedelta(weeks=k) for k in range(4)], 7,
    ...                  pd.DataFrame(columns=["t", "x", "y", "cell"]))
    >>> NaiveRecent(weeks=2).fit(d).predict(horizon=2).tolist()  # (3+5)/2*2, (4+0)/2*2
    [8.0, 4.0]
    """

    weeks: int = 4
    name: str = field(default="naive_recent", kw_only=True)
    rate_: FloatArray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.weeks < 1:
            raise ValueError(f"weeks must be >= 1, got {self.weeks}")

    def fit(self, data: ForecastData) -> Self:
        """Average the last ``weeks`` periods of ``data.counts``."""
        window = data.counts[:, -self.weeks :]
        if window.shape[1] == 0:
            self.rate_ = np.zeros(data.n_cells)
        else:
            self.rate_ = np.asarray(window.mean(axis=1), dtype=np.float64)
        return self

    def predict(self, horizon: int = 1) -> FloatArray:
        """Expected events per cell in the next ``horizon`` periods."""
        _check_horizon(horizon)
        if self.rate_ is None:
            raise _not_fitted(type(self).__name__)
        return self.rate_ * horizon


def year_lag(period_days: int) -> int:
    """Periods in one year: 52 for weeks, 365 for days (``round(365 / period_days)``).

    Examples
    --------
    >>> year_lag(7), year_lag(1)
    (52, 365)
    """
    if period_days < 1:
        raise ValueError(f"period_days must be >= 1, got {period_days}")
    return max(1, round(365 / period_days))


@dataclass
class NaiveYear:
    """The counts of the same periods one year earlier (52 weeks, or 365 days, before).

    Forecasting periods ``T .. T+h-1`` from an origin ``T``, each target period ``T+k`` takes
    the count of period ``T+k-L`` where ``L`` is :func:`year_lag`. A horizon longer than a year
    repeats the last year (period ``T - L + (k mod L)``). With less than one year of history
    the forecast falls back to :class:`NaiveRecent` with ``fallback_periods`` (52) periods.

    Attributes
    ----------
    history_ : (n, L) int64
        The last year of counts (fewer columns with less history), after :meth:`fit`.
    lag_ : int
        ``L``.

    Examples
    --------
    >>> from datetime import date, timedelta
    >>> import pandas as pd
    >>> counts = np.array([[k % 3 for k in range(54)]])  # 0, 1, 2, 0, 1, 2, ...
    >>> d = ForecastData(np.array([10]), np.zeros(1), np.zeros(1), counts,
    ...                  [date(2024, 1, 1) + timedelta(weeks=k) for k in range(54)], 7,
    ...                  pd.DataFrame(columns=["t", "x", "y", "cell"]))
    >>> NaiveYear().fit(d).predict(horizon=2).tolist()  # periods 2 and 3: 2 + 0
    [2.0]
    """

    fallback_periods: int = 52
    name: str = field(default="naive_year", kw_only=True)
    history_: IntArray | None = field(default=None, init=False, repr=False)
    lag_: int = field(default=0, init=False, repr=False)
    fallback_: NaiveRecent | None = field(default=None, init=False, repr=False)

    def fit(self, data: ForecastData) -> Self:
        """Keep the last year of counts, or fit the fallback with less than a year."""
        self.lag_ = year_lag(data.period_days)
        if data.n_periods >= self.lag_:
            self.history_ = np.array(data.counts[:, -self.lag_ :], dtype=np.int64)
            self.fallback_ = None
        else:
            self.history_ = np.array(data.counts, dtype=np.int64)
            self.fallback_ = NaiveRecent(self.fallback_periods).fit(data)
        return self

    def predict(self, horizon: int = 1) -> FloatArray:
        """Expected events per cell in the next ``horizon`` periods."""
        _check_horizon(horizon)
        if self.history_ is None:
            raise _not_fitted(type(self).__name__)
        if self.fallback_ is not None:
            return self.fallback_.predict(horizon)
        # history_ column j is period T - L + j, so target period T + k reads column k mod L
        cols = np.arange(horizon) % self.lag_
        return np.asarray(self.history_[:, cols].sum(axis=1), dtype=np.float64)


@dataclass
class KernelDensity:
    """Retrospective kernel density of past events (quartic kernel), as expected counts.

    The density at each cell centroid is ``sum_i K(d_i)`` over the events of the training
    window (all the past, or the last ``window_periods`` periods) with the quartic kernel
    :func:`quartic_kernel` of bandwidth ``bandwidth_m``. The KDE shapes the map, the recent
    total sets its level: the density is rescaled to sum to the window's mean events per
    period, and :meth:`predict` multiplies by the horizon.

    Attributes
    ----------
    density_ : (n,) float64
        Kernel density at each centroid (events per square metre).
    level_ : float
        Mean events per period over the training window.
    rate_ : (n,) float64
        Expected events per cell and period.

    Examples
    --------
    >>> from datetime import date
    >>> import pandas as pd
    >>> events = pd.DataFrame({"t": [0.5, 3.0], "x": [0.0, 150.0], "y": 0.0, "cell": [0, 1]})
    >>> d = ForecastData(np.array([10, 11, 12]), np.array([0.0, 150.0, 300.0]), np.zeros(3),
    ...                  np.array([[1], [1], [0]]), [date(2025, 1, 6)], 7, events)
    >>> # K(0) = 48/(16 pi h^2), K(h/2) = 27/(16 pi h^2), K(h) = 0: densities 75, 75, 27
    >>> # (x 1/(16 pi h^2)); 2 events in 1 period: 2 * 75/177, 2 * 75/177, 2 * 27/177
    >>> [round(v, 4) for v in KernelDensity(300.0).fit(d).predict().tolist()]
    [0.8475, 0.8475, 0.3051]
    """

    bandwidth_m: float = 300.0
    window_periods: int | None = None
    name: str = field(default="kde", kw_only=True)
    density_: FloatArray | None = field(default=None, init=False, repr=False)
    level_: float = field(default=0.0, init=False, repr=False)
    rate_: FloatArray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.bandwidth_m <= 0:
            raise ValueError(f"bandwidth_m must be > 0, got {self.bandwidth_m}")
        if self.window_periods is not None and self.window_periods < 1:
            raise ValueError(f"window_periods must be >= 1, got {self.window_periods}")

    def fit(self, data: ForecastData) -> Self:
        """Estimate the density of the window's events at the cell centroids."""
        n_periods = data.n_periods
        start = 0.0
        if self.window_periods is not None and self.window_periods < n_periods:
            n_periods = self.window_periods
            start = float((data.n_periods - self.window_periods) * data.period_days)
        ev = data.events[data.events["t"] >= start]
        ex = ev["x"].to_numpy(dtype=np.float64)
        ey = ev["y"].to_numpy(dtype=np.float64)
        density = np.zeros(data.n_cells)
        if len(ev) and data.n_cells:
            p = _pairs(data, ex, ey, self.bandwidth_m)
            density = np.bincount(
                p["i"], weights=quartic_kernel(p["v"], self.bandwidth_m), minlength=data.n_cells
            ).astype(np.float64)
        self.density_ = density
        self.level_ = len(ev) / n_periods if n_periods else 0.0
        cells = ev["cell"].to_numpy(dtype=np.int64)
        self.rate_ = _to_expected(density, cells, data.n_cells, self.level_)
        return self

    def predict(self, horizon: int = 1) -> FloatArray:
        """Expected events per cell in the next ``horizon`` periods."""
        _check_horizon(horizon)
        if self.rate_ is None:
            raise _not_fitted(type(self).__name__)
        return self.rate_ * horizon


def cell_spacing(x: FloatArray, y: FloatArray) -> float:
    """Distance between neighbouring centroids: the median nearest-neighbour distance.

    Examples
    --------
    >>> cell_spacing(np.array([0.0, 100.0, 200.0, 400.0]), np.zeros(4))
    100.0
    """
    if len(x) < 2:
        raise ValueError("the cell spacing needs at least two cells")
    d, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k=2)
    nn = d[:, 1]
    nn = nn[nn > 0]
    if nn.size == 0:
        raise ValueError("all centroids coincide")
    return float(np.median(nn))


@dataclass
class ProspectiveHotspot:
    """Prospective hot-spotting (Bowers, Johnson & Pease 2004).

    Every past event at most ``weeks`` weeks before the origin and at most ``bandwidth_m``
    from a cell centroid adds to that cell's risk::

        1 / (1 + distance band) * 1 / (1 + weeks ago)

    where the distance band is ``floor(d / cell spacing)`` (0 for an event in the cell's own
    neighbourhood) and "weeks ago" is ``ceil((origin - t) / 7) - 1`` (0 for the last 7 days
    before the origin, 1 for the 7 days before those...). Weeks are 7 days whatever
    ``period_days``. The cell spacing is ``cell_size_m`` or, when None, the median distance
    between neighbouring centroids (:func:`cell_spacing`).

    The risk is rescaled like :class:`KernelDensity`'s: to sum to the mean events per period
    over the window (the last ``weeks`` weeks, or less history), times the horizon.

    Attributes
    ----------
    risk_ : (n,) float64
        Bowers et al.'s risk score per cell.
    spacing_ : float
        Cell spacing used for the distance bands (metres).
    level_ : float
        Mean events per period over the window.
    rate_ : (n,) float64
        Expected events per cell and period.

    Examples
    --------
    >>> from datetime import date, timedelta
    >>> import pandas as pd
    >>> # two weekly periods; origin at day 14; events 1 week ago (t=2) and this week (t=10)
    >>> events = pd.DataFrame({"t": [2.0, 10.0], "x": [0.0, 100.0], "y": 0.0, "cell": [0, 1]})
    >>> d = ForecastData(np.array([10, 11, 12]), np.array([0.0, 100.0, 200.0]), np.zeros(3),
    ...                  np.array([[1, 0], [0, 1], [0, 0]]),
    ...                  [date(2025, 1, 6), date(2025, 1, 13)], 7, events)
    >>> m = ProspectiveHotspot(bandwidth_m=150.0).fit(d)
    >>> m.risk_.tolist()  # cell 0: 1/2 + 1/2; cell 1: 1/4 + 1; cell 2: 1/2
    [1.0, 1.25, 0.5]
    >>> m.predict().tolist()  # 2 events over 2 periods: level 1 per period
    [0.36363636363636365, 0.45454545454545453, 0.18181818181818182]
    """

    bandwidth_m: float = 400.0
    weeks: int = 8
    cell_size_m: float | None = None
    name: str = field(default="prospective_hotspot", kw_only=True)
    risk_: FloatArray | None = field(default=None, init=False, repr=False)
    spacing_: float = field(default=0.0, init=False, repr=False)
    level_: float = field(default=0.0, init=False, repr=False)
    rate_: FloatArray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.bandwidth_m <= 0:
            raise ValueError(f"bandwidth_m must be > 0, got {self.bandwidth_m}")
        if self.weeks < 1:
            raise ValueError(f"weeks must be >= 1, got {self.weeks}")
        if self.cell_size_m is not None and self.cell_size_m <= 0:
            raise ValueError(f"cell_size_m must be > 0, got {self.cell_size_m}")

    def fit(self, data: ForecastData) -> Self:
        """Score every cell from the events of the last ``weeks`` weeks."""
        if self.cell_size_m is not None:
            self.spacing_ = float(self.cell_size_m)
        elif data.n_cells >= 2:
            self.spacing_ = cell_spacing(data.x, data.y)
        else:
            self.spacing_ = float(self.bandwidth_m)  # one cell: every event is in band 0
        origin = float(data.n_periods * data.period_days)
        window_days = min(float(self.weeks * WEEK_DAYS), origin)
        t = data.events["t"].to_numpy(dtype=np.float64)
        keep = (t < origin) & (t >= origin - window_days)
        ev = data.events[keep]
        ago = np.ceil((origin - t[keep]) / WEEK_DAYS) - 1.0
        risk = np.zeros(data.n_cells)
        if len(ev) and data.n_cells:
            ex = ev["x"].to_numpy(dtype=np.float64)
            ey = ev["y"].to_numpy(dtype=np.float64)
            p = _pairs(data, ex, ey, self.bandwidth_m)
            band = np.floor(p["v"] / self.spacing_ + 1e-9)
            w = 1.0 / (1.0 + band) / (1.0 + ago[p["j"]])
            risk = np.bincount(p["i"], weights=w, minlength=data.n_cells).astype(np.float64)
        self.risk_ = risk
        n_periods = window_days / data.period_days
        self.level_ = len(ev) / n_periods if n_periods > 0 else 0.0
        cells = ev["cell"].to_numpy(dtype=np.int64)
        self.rate_ = _to_expected(risk, cells, data.n_cells, self.level_)
        return self

    def predict(self, horizon: int = 1) -> FloatArray:
        """Expected events per cell in the next ``horizon`` periods."""
        _check_horizon(horizon)
        if self.rate_ is None:
            raise _not_fitted(type(self).__name__)
        return self.rate_ * horizon
