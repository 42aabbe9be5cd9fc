"""What every forecaster sees and answers (pure: numpy and pandas only).

A forecaster is fitted on :class:`ForecastData` cut at a forecast origin (nothing after it is
visible: :meth:`ForecastData.until`) and predicts, for every cell of the study area, the
expected number of events in the next ``horizon`` periods. Ranking cells by that expectation
gives the risk map; the backtest scores it against what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Protocol, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: columns of :attr:`ForecastData.events`
EVENT_COLUMNS = ("t", "x", "y", "cell")


@dataclass(frozen=True)
class ForecastData:
    """Events of a study area on its grid: counts per cell and period, and the points.

    Attributes
    ----------
    cells : (n,) int64
        H3 ids of every cell of the study area (cells with no event included).
    x, y : (n,) float64
        Cell centroids in metres, in a metric CRS (Lambert-93 for Marseille, a UTM zone else).
    counts : (n, T) int64
        Events per cell and period.
    periods : list of date
        Start of each of the T periods (consecutive, ``period_days`` long).
    period_days : int
        7 for weeks, 1 for days.
    events : DataFrame
        One row per event: ``t`` (days since ``periods[0]``, float), ``x``, ``y`` (metres),
        ``cell`` (index into ``cells``). Consistent with ``counts``.
    population : (n,) float64, optional
        Residents per cell.
    area_m2 : (n,) float64, optional
        Area of each cell inside the study area (m²), for area shares.
    """

    cells: IntArray
    x: FloatArray
    y: FloatArray
    counts: IntArray
    periods: list[date]
    period_days: int
    events: pd.DataFrame
    population: FloatArray | None = None
    area_m2: FloatArray | None = None

    @property
    def n_cells(self) -> int:
        return int(self.cells.shape[0])

    @property
    def n_periods(self) -> int:
        return int(self.counts.shape[1])

    def until(self, t: int) -> ForecastData:
        """The data of periods ``[0, t)`` only: what a forecast made at period ``t`` may see.

        Examples
        --------
        >>> d = ForecastData(np.array([1, 2]), np.zeros(2), np.zeros(2),
        ...                  np.array([[1, 0, 3], [0, 2, 0]]),
        ...                  [date(2025, 1, 6), date(2025, 1, 13), date(2025, 1, 20)], 7,
        ...                  pd.DataFrame({"t": [1.0, 8.0, 9.0, 15.0, 16.0, 17.0],
        ...                                "x": 0.0, "y": 0.0, "cell": [0, 1, 1, 0, 0, 0]}))
        >>> cut = d.until(2)
        >>> cut.counts.tolist(), len(cut.events), cut.periods[-1]
        ([[1, 0], [0, 2]], 3, datetime.date(2025, 1, 13))
        """
        if not 0 < t <= self.n_periods:
            raise ValueError(f"origin {t} outside 1..{self.n_periods}")
        horizon_days = t * self.period_days
        return replace(
            self,
            counts=self.counts[:, :t],
            periods=self.periods[:t],
            events=self.events[self.events["t"] < horizon_days].reset_index(drop=True),
        )

    def target(self, t: int, horizon: int = 1) -> IntArray:
        """Events per cell in periods ``[t, t + horizon)`` (what a forecast at ``t`` must hit)."""
        return np.asarray(self.counts[:, t : t + horizon].sum(axis=1), dtype=np.int64)


class Forecaster(Protocol):
    """A forecasting method: ``fit`` on the past, ``predict`` the next periods."""

    name: str

    def fit(self, data: ForecastData) -> Self:
        """Learn from ``data`` (all of it is the past)."""
        ...

    def predict(self, horizon: int = 1) -> FloatArray:
        """Expected events per cell (``data.cells`` order) in the next ``horizon`` periods."""
        ...
