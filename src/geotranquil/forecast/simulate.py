"""Simulated self-exciting incidents on a grid, with planted parameters (pure).

:func:`simulate_sepp` draws events from the space-time self-exciting point process that
:class:`geotranquil.forecast.sepp.SeppGrid` fits (Mohler et al. 2011), by its branching (cluster)
representation:

1. *background* events: in every cell ``i`` a Poisson(``mu[i] * days``) number of events, at times
   uniform on ``[0, days)``, at positions uniform in the disc of the cell's area around the cell
   centroid (the hexagon approximated by a disc of the same area);
2. *offspring*, generation after generation: every event has Poisson(``theta``) children, each one
   ``Exponential(omega)`` days later (mean delay ``1 / omega``) and offset by an isotropic Gaussian
   of standard deviation ``sigma`` metres per axis; a child is assigned to the nearest cell
   centroid; children later than ``days`` are not observed; children farther than the cell
   circumradius from every centroid fall outside the study area and are dropped (and counted).
   Children of dropped events are not drawn (they are outside the process we observe).

The result's ``attrs`` record ``n_background``, ``n_offspring`` (kept) and ``n_dropped_outside``.

:func:`forecast_data_from_events` turns such a table (or any event table with ``t``, ``x``, ``y``,
``cell``) into :class:`~geotranquil.forecast.base.ForecastData`, so tests and the backtest can run
on data with a known truth.

References
----------
Mohler, G. O., Short, M. B., Brantingham, P. J., Schoenberg, F. P. and Tita, G. E. (2011).
Self-exciting point process modeling of crime. *JASA* 106(493), 100-108.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from geotranquil.forecast.base import EVENT_COLUMNS, FloatArray, ForecastData, IntArray

__all__ = ["forecast_data_from_events", "simulate_sepp"]


def simulate_sepp(
    cells_xy: FloatArray,
    mu: FloatArray,
    theta: float,
    omega: float,
    sigma: float,
    days: float,
    seed: int,
    cell_area_m2: float,
) -> pd.DataFrame:
    """Draw events of a grid self-exciting point process by branching.

    Parameters
    ----------
    cells_xy : (n, 2) float
        Cell centroids in metres.
    mu : (n,) float
        Background rate of each cell, events per day.
    theta : float
        Mean number of direct offspring per event (``0 <= theta < 1``).
    omega : float
        Temporal decay rate, per day (mean delay ``1 / omega`` days).
    sigma : float
        Standard deviation of the Gaussian offset of a child from its parent, metres per axis.
    days : float
        Length of the simulated window; events have ``0 <= t < days``.
    seed : int
        Seed of the random generator (the same seed gives the same events).
    cell_area_m2 : float
        Area of one cell (hexagon), square metres.

    Returns
    -------
    DataFrame
        Columns ``t`` (days), ``x``, ``y`` (metres), ``cell`` (index into ``cells_xy``), sorted by
        ``t``; ``attrs`` holds ``n_background``, ``n_offspring`` and ``n_dropped_outside``.

    Examples
    --------
    >>> xy = np.array([[0.0, 0.0], [400.0, 0.0], [200.0, 346.4]])
    >>> ev = simulate_sepp(xy, np.array([0.05, 0.05, 0.1]), theta=0.3, omega=0.2, sigma=100.0,
    ...                    days=365, seed=1, cell_area_m2=138_564.0)
    >>> list(ev.columns), bool(ev["t"].is_monotonic_increasing), bool(ev["t"].lt(365).all())
    (['t', 'x', 'y', 'cell'], True, True)
    >>> ev.attrs["n_background"] + ev.attrs["n_offspring"] == len(ev)
    True
    """
    xy = np.asarray(cells_xy, dtype=np.float64)
    rates = np.asarray(mu, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"cells_xy must be (n, 2), got shape {xy.shape}")
    if rates.shape != (xy.shape[0],):
        raise ValueError(f"mu must have shape ({xy.shape[0]},), got {rates.shape}")
    if (rates < 0).any() or not np.isfinite(rates).all():
        raise ValueError("mu must be finite and non-negative")
    if not 0 <= theta < 1:
        raise ValueError(f"theta must be in [0, 1), got {theta}")
    if omega <= 0 or sigma <= 0 or days <= 0 or cell_area_m2 <= 0:
        raise ValueError("omega, sigma, days and cell_area_m2 must be positive")
    rng = np.random.default_rng(seed)
    tree = cKDTree(xy)
    disc_radius = np.sqrt(cell_area_m2 / np.pi)
    # circumradius of a regular hexagon of that area: every point of a cell is this close to
    # its centroid, so nothing inside the tiling is dropped
    circumradius = np.sqrt(2.0 * cell_area_m2 / (3.0 * np.sqrt(3.0)))

    n_bg = rng.poisson(rates * days)
    cell = np.repeat(np.arange(xy.shape[0], dtype=np.int64), n_bg)
    t = rng.uniform(0.0, days, size=cell.size)
    r = disc_radius * np.sqrt(rng.uniform(size=cell.size))
    a = rng.uniform(0.0, 2.0 * np.pi, size=cell.size)
    x = xy[cell, 0] + r * np.cos(a)
    y = xy[cell, 1] + r * np.sin(a)

    parts_t, parts_x, parts_y, parts_c = [t], [x], [y], [cell]
    n_dropped = 0
    gen_t, gen_x, gen_y = t, x, y
    while gen_t.size:
        k = rng.poisson(theta, size=gen_t.size)
        ct = np.repeat(gen_t, k) + rng.exponential(1.0 / omega, size=int(k.sum()))
        cx = np.repeat(gen_x, k) + rng.normal(0.0, sigma, size=ct.size)
        cy = np.repeat(gen_y, k) + rng.normal(0.0, sigma, size=ct.size)
        in_window = ct < days
        ct, cx, cy = ct[in_window], cx[in_window], cy[in_window]
        dist, nearest = tree.query(np.column_stack([cx, cy]))
        inside = np.asarray(dist, dtype=np.float64) <= circumradius
        n_dropped += int((~inside).sum())
        gen_t, gen_x, gen_y = ct[inside], cx[inside], cy[inside]
        parts_t.append(gen_t)
        parts_x.append(gen_x)
        parts_y.append(gen_y)
        parts_c.append(np.asarray(nearest, dtype=np.int64)[inside])

    out = pd.DataFrame(
        {
            "t": np.concatenate(parts_t),
            "x": np.concatenate(parts_x),
            "y": np.concatenate(parts_y),
            "cell": np.concatenate(parts_c),
        }
    )
    out = out.sort_values("t", kind="stable").reset_index(drop=True)
    out.attrs["n_background"] = int(cell.size)
    out.attrs["n_offspring"] = len(out) - int(cell.size)
    out.attrs["n_dropped_outside"] = n_dropped
    return out


def forecast_data_from_events(
    events: pd.DataFrame,
    cells: npt.ArrayLike,
    xy: FloatArray,
    period_days: int,
    start: date,
    n_periods: int,
) -> ForecastData:
    """Build :class:`ForecastData` whose counts cube is consistent with ``events``.

    Events with ``t`` outside ``[0, n_periods * period_days)`` are left out (of the counts and of
    :attr:`ForecastData.events` alike); event ``t`` falls in period ``floor(t / period_days)``.

    Parameters
    ----------
    events : DataFrame
        Columns ``t`` (days since ``start``), ``x``, ``y`` (metres), ``cell`` (index into
        ``cells``).
    cells : (n,) int
        Cell ids (H3 ids, or any integers for simulated grids).
    xy : (n, 2) float
        Cell centroids in metres.
    period_days : int
        Length of a period in days (7 for weeks).
    start : date
        Start of the first period.
    n_periods : int
        Number of periods.

    Examples
    --------
    >>> ev = pd.DataFrame({"t": [0.5, 6.9, 7.0, 20.0, 30.0], "x": 0.0, "y": 0.0,
    ...                    "cell": [0, 1, 1, 0, 1]})
    >>> d = forecast_data_from_events(ev, [10, 11], np.array([[0.0, 0.0], [400.0, 0.0]]),
    ...                               7, date(2025, 1, 6), 3)
    >>> d.counts.tolist(), len(d.events), d.periods[-1]
    ([[1, 0, 1], [1, 1, 0]], 4, datetime.date(2025, 1, 20))
    """
    ids: IntArray = np.asarray(cells, dtype=np.int64)
    centroids = np.asarray(xy, dtype=np.float64)
    if centroids.shape != (ids.shape[0], 2):
        raise ValueError(f"xy must have shape ({ids.shape[0]}, 2), got {centroids.shape}")
    if period_days < 1 or n_periods < 1:
        raise ValueError("period_days and n_periods must be positive")
    missing = set(EVENT_COLUMNS) - set(events.columns)
    if missing:
        raise ValueError(f"events lack columns {sorted(missing)}")
    horizon = float(n_periods * period_days)
    t = events["t"].to_numpy(dtype=np.float64)
    keep = (t >= 0) & (t < horizon)
    ev = events.loc[keep, list(EVENT_COLUMNS)].reset_index(drop=True)
    ev = ev.astype({"t": np.float64, "x": np.float64, "y": np.float64, "cell": np.int64})
    cell = ev["cell"].to_numpy()
    if cell.size and (cell.min() < 0 or cell.max() >= ids.shape[0]):
        raise ValueError("event cell index outside the grid")
    period = np.floor(ev["t"].to_numpy() / period_days).astype(np.int64)
    counts = np.zeros((ids.shape[0], n_periods), dtype=np.int64)
    np.add.at(counts, (cell, period), 1)
    periods = [start + timedelta(days=k * period_days) for k in range(n_periods)]
    return ForecastData(
        cells=ids,
        x=centroids[:, 0].copy(),
        y=centroids[:, 1].copy(),
        counts=counts,
        periods=periods,
        period_days=period_days,
        events=ev,
    )
