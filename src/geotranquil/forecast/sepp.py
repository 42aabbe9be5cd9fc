"""A self-exciting point process on the grid, fitted by expectation-maximisation (pure).

The model (Mohler et al. 2011, 2015): the expected rate of events in cell ``i`` at time ``t``
(days) is

    lambda_i(t) = mu_i + sum_{j: t_j < t} theta * omega * exp(-omega (t - t_j)) * k_sigma(d_ij)

- ``mu_i`` is the *background* rate of cell ``i`` (events per day), the part of the risk that
  does not depend on recent events;
- every event ``j`` *triggers* on average ``theta`` direct offspring (``0 <= theta < 1``, the
  contagion share: near-repeat burglaries, retaliation, a busy spot drawing more incidents),
  after delays ``Exponential(omega)`` (mean ``1 / omega`` days);
- offspring land around their parent with an isotropic Gaussian offset of ``sigma`` metres per
  axis. ``k_sigma(d_ij)``, the share of them that lands in cell ``i``, is the integral of the
  Gaussian over the cell, approximated by the density at the cell centroid (distance ``d_ij``
  from event ``j``) times the cell area, then **renormalised**:
  ``k_sigma(d_ij) = S g(d_ij) / sum_l g(d_lj)``, the sum running over the cells of the study
  area *and* over the grid continued outside it (``edge_correction=True``, the default: the
  hexagonal lattice is extended ring by ring beyond the area's border). Renormalising removes
  the error of the centroid approximation (large when ``sigma`` is small next to the cells);
  keeping the outside cells in the normaliser means offspring that land outside the area are
  *not counted*: for an event near the border, ``sum_i k_sigma(d_ij) = S m_j < 1``, ``m_j``
  the share of its offspring inside. ``theta`` is thus the mean number of offspring anywhere,
  of which only those inside the area are recorded. Leaving this out biases ``theta`` and
  ``sigma`` down markedly (offspring lost across the border look like missing contagion).
  With ``edge_correction=False`` the normaliser runs over the study area's cells only
  (``m_j = 1``: offspring are assumed to stay inside). ``S = 1 - exp(-R^2 / (2 sigma^2))`` is
  the mass the distance cut-off ``R`` keeps (below).

Fitting: the branching structure (which event triggered which) is unobserved, so the
parameters are estimated by EM (Veen & Schoenberg 2008; Mohler et al. 2011) on the events'
exact positions and times: the point intensity is ``mu_cell(x) / A`` (the background is
uniform within a cell of area ``A``) plus ``theta omega exp(-omega dt) g_sigma(d)`` per earlier
event ``j`` at distance ``d`` (``g_sigma`` the 2-D Gaussian density), so that integrating it over
a cell gives ``lambda_i`` above.

- *E-step*: for every event ``e``, the probability ``p_e0`` that it is a background event and
  ``p_ej`` that event ``j`` triggered it are proportional to ``mu_cell(e)`` and to
  ``theta omega exp(-omega dt) A g_sigma(d)``. Only pairs with ``0 < dt <= max_lag_days`` and
  ``d <= R`` are considered (the triggering kernel is truncated there, which the
  likelihood accounts for); ``R = max_distance_m``, or, by default, about ``4 sigma``: a
  first, loosely converged run starts from ``R = 2 x`` the cell spacing, then ``R`` is reset to
  ``5 sigma`` until ``4 sigma <= R <= 6 sigma`` (at most 5 resets, ``R`` at most 10 cell
  spacings), and the final run keeps ``R`` fixed.
- *M-step*: ``mu_i = sum_{e in i} p_e0 / T`` (see ``background_days`` below for a background
  varying in time) (``T`` the training length in days; with
  ``background_bandwidth_m``, the Mohler 2015 smoothed background: these rates are spread
  over neighbouring cells by a Gaussian of that bandwidth, normalised per source cell so the
  total background rate is unchanged).
  ``theta = sum p_ej / (S sum_j (1 - exp(-omega tau_j)) m_j)`` with
  ``tau_j = min(T - t_j, max_lag_days)`` (edge corrections: the offspring of the last events are
  not yet visible, those of events near the border partly land outside). ``omega`` and
  ``sigma`` maximise the expected complete log-likelihood with the truncations and the border
  taken into account (one after the other, ``theta`` profiled out); they are
  ``sum p_ej / sum p_ej dt`` and ``sqrt(sum p_ej d^2 / (2 sum p_ej))`` when these corrections
  are negligible, and are found by a bounded 1-D search otherwise (``m_j(sigma)`` is tabulated
  over 64 values of ``log sigma`` and interpolated). Each M-step increases the expected
  complete log-likelihood (a guard keeps the old values otherwise), so the log-likelihood never
  decreases (``loglik_path_``), except with background smoothing, which is not a maximisation
  step (Mohler 2015's smoothed EM). Iterations stop when
  the largest relative change of ``theta`` (relative to at least 0.01), ``omega``, ``sigma`` and
  ``mu`` (L1) falls below ``tol``, or after ``max_iter``.

Pairs are found by sorting the events by time and querying a :class:`scipy.spatial.cKDTree`
on (x / R, y / R, t / max_lag_days) with the Chebyshev norm; E- and M-steps are vectorised
with numpy, so 20,000 events fit in a few seconds.

The forecast of the next ``H`` days after the end of the training data (origin ``T``) is the
expected number of events of the background and of the offspring of past events,
``mu_i H + sum_j theta (exp(-omega a_j) - exp(-omega min(a_j + H, max_lag_days))) k_sigma(d_ij)``
with ``a_j = T - t_j``; offspring of events that will occur within the horizon are not included
(first-order forecast, as in Mohler et al. 2015).

Bounds and degenerate fits
--------------------------
Left free, the EM can run into two degenerate fits, both seen on the demo data:

- *sigma towards 0*: events recorded at exactly the same place (an address the logbook's events
  were geocoded to, a fixed sensor, a camera) make the Gaussian density at distance 0, and so
  the likelihood, unbounded. ``sigma`` is floored at ``min_sigma_m`` (by default a quarter of
  the cell spacing, about 75 m at H3 resolution 9: below it the grid cannot tell scales
  apart, and positions are rarely more precise) and ``theta`` capped at ``max_theta`` (0.95,
  a sub-critical process; the expected log-likelihood is concave in ``theta``, so the capped
  maximiser is the cap).
- *the kernel as a density estimator*: with a slow decay (weeks) and a wide reach (a few
  hundred metres), "triggering" describes where events are *within* a cell (the background is
  uniform inside each cell) rather than contagion. On the demo data without its planted
  near-repeats, or with its times shuffled, the free model reports ``theta`` at the 0.95 cap
  with ``sigma`` about 550 m and a 12-day mean delay. Bounding the kernel to near-repeat scales
  (``max_sigma_m``, ``max_delay_days``: Johnson et al. 2007 and Bowers et al. 2004 find the
  raised risk within a few hundred metres and a couple of weeks) removes that mode: with 300 m
  and 14 days, six months of demo data give ``theta`` 0.15 (planted: 0.19 of the events are
  near-repeats), 0.01 without the near-repeats and 0.00 with shuffled times
  (``tests/unit/test_forecast_demo_truth.py``). No bound helps when many events sit on a few
  exact points inside cells (a sensor, a camera, one address for a whole logbook): the kernel
  then describes those points, and ``theta`` measures them, not contagion. On the demo
  database (positions partly snapped to cameras, sensors and addresses) the free model gives
  ``theta`` 0.32, ``sigma`` 84 m and a mean delay of 8.5 days (0.58 and ``sigma`` near 0
  before the floor). Use the bounds to *measure* contagion; the
  forecasting baseline keeps the free model of the literature (its kernel then smooths the
  recent past, which forecasts well).

``background_days`` makes the background vary in time (Gaussian smoothing of each cell's
expected background events over the periods, bandwidth in days; the rate of the last period
is the one forecast): it follows seasons and emerging or fading places instead of leaving them
to the triggering kernel, at the price of a lower ``theta`` (the smoothed background also
absorbs part of the contagion: 0.11 instead of 0.19 on the demo data with 56 days).

A free background rate per cell is flexible: with few events per cell it absorbs part of the
clustering, and ``theta`` comes out somewhat low (by about 0.03-0.05 on 400 cells with ~10
background events each in simulations); smoothing the background (``background_bandwidth_m``,
a bandwidth of a few cells) removes most of that when the true background varies smoothly.

Cells are assumed to have equal areas (true to a few per cent for H3 hexagons of one
resolution); the area is ``cell_area_m2`` or estimated from the median distance between
neighbouring centroids ``s`` as the hexagon area ``sqrt(3) / 2 s^2``.

References
----------
Mohler, G. O., Short, M. B., Brantingham, P. J., Schoenberg, F. P. and Tita, G. E. (2011).
Self-exciting point process modeling of crime. *JASA* 106(493), 100-108.

Mohler, G. O., Short, M. B., Malinowski, S., Johnson, M., Tita, G. E., Bertozzi, A. L. and
Brantingham, P. J. (2015). Randomized controlled field trials of predictive policing.
*JASA* 110(512), 1399-1411.

Veen, A. and Schoenberg, F. P. (2008). Estimation of space-time branching process models in
seismology using an EM-type algorithm. *JASA* 103(482), 614-624.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize_scalar
from scipy.sparse import coo_matrix, csr_matrix
from scipy.spatial import cKDTree

from geotranquil.forecast.base import FloatArray, ForecastData

__all__ = ["SeppGrid"]

_TINY = 1e-300
#: relative-change floor for theta (a share: changes are judged against at least 0.01)
_THETA_FLOOR = 1e-2
#: cap on the automatic distance cut-off, in cell spacings
_MAX_R_SPACINGS = 10.0
_MAX_R_RESETS = 5
_PILOT_TOL = 1e-3
#: relative change of the log-likelihood under which an EM run has converged
_LOGLIK_TOL = 1e-9
#: default floor of sigma, in cell spacings
_MIN_SIGMA_SPACINGS = 0.25

IndexArray = npt.NDArray[np.intp]


def _hex_area(spacing: float) -> float:
    """Area of the regular hexagon whose neighbours' centroids are ``spacing`` apart."""
    return float(np.sqrt(3.0) / 2.0 * spacing**2)


def _cell_spacing(xy: FloatArray) -> float:
    """Median distance from a centroid to its nearest neighbour."""
    if xy.shape[0] < 2:
        raise ValueError("cannot estimate the cell area from one cell: pass cell_area_m2")
    dist, _ = cKDTree(xy).query(xy, k=2)
    return float(np.median(np.asarray(dist)[:, 1]))


def _spatial_mass(sigma: float, radius: float) -> float:
    """Mass of the 2-D Gaussian of ``sigma`` within ``radius`` of its centre."""
    return float(-np.expm1(-(radius**2) / (2.0 * sigma**2)))


@dataclass
class _Events:
    """Training events sorted by time."""

    t: FloatArray
    x: FloatArray
    y: FloatArray
    cell: IndexArray
    order: IndexArray  # position in data.events of each sorted event


@dataclass
class _Pairs:
    """(parent, child) pairs with ``0 < dt <= lag`` and ``d <= radius``."""

    parent: IndexArray
    child: IndexArray
    dt: FloatArray
    d2: FloatArray
    radius: float

    def within(self, radius: float) -> _Pairs:
        keep = self.d2 <= radius**2
        return _Pairs(self.parent[keep], self.child[keep], self.dt[keep], self.d2[keep], radius)


def _find_pairs(ev: _Events, radius: float, lag: float) -> _Pairs:
    n = ev.t.shape[0]
    empty = np.zeros(0, dtype=np.intp)
    if n < 2 or radius <= 0 or lag <= 0:
        return _Pairs(empty, empty, np.zeros(0), np.zeros(0), radius)
    scaled = np.column_stack([ev.x / radius, ev.y / radius, ev.t / lag])
    ij = cKDTree(scaled).query_pairs(1.0 + 1e-9, p=np.inf, output_type="ndarray")
    a, b = ij[:, 0].astype(np.intp), ij[:, 1].astype(np.intp)
    # events are sorted by time; orient each pair from the earlier to the later event
    parent = np.where(ev.t[a] <= ev.t[b], a, b)
    child = np.where(ev.t[a] <= ev.t[b], b, a)
    dt = ev.t[child] - ev.t[parent]
    d2 = (ev.x[child] - ev.x[parent]) ** 2 + (ev.y[child] - ev.y[parent]) ** 2
    keep = (dt > 0) & (dt <= lag) & (d2 <= radius**2)
    return _Pairs(parent[keep], child[keep], dt[keep], d2[keep], radius)


def _lattice_offsets(xy: FloatArray, spacing: float) -> FloatArray:
    """The 6 neighbour offsets of the (hexagonal) grid, oriented as the centroids are."""
    alpha = 0.0
    pairs = np.zeros((0, 2), dtype=np.intp)
    if xy.shape[0] > 1:
        pairs = np.asarray(cKDTree(xy).query_pairs(1.25 * spacing, output_type="ndarray"))
    if pairs.shape[0]:
        v = xy[pairs[:, 1]] - xy[pairs[:, 0]]
        angles = np.arctan2(v[:, 1], v[:, 0])
        alpha = float(np.angle(np.exp(6j * angles).mean()) / 6.0)
    k = np.arange(6) * np.pi / 3.0 + alpha
    return spacing * np.column_stack([np.cos(k), np.sin(k)])


def _virtual_cells(xy: FloatArray, spacing: float, reach: float) -> FloatArray:
    """Centroids of the grid continued outside the study area, up to ``reach`` from it."""
    offsets = _lattice_offsets(xy, spacing)
    area_tree = cKDTree(xy)
    known = [xy]
    frontier = xy
    virtual: list[FloatArray] = []
    while frontier.shape[0]:
        cand = (frontier[:, None, :] + offsets[None, :, :]).reshape(-1, 2)
        d_area, _ = area_tree.query(cand)
        cand = cand[np.asarray(d_area) <= reach]
        if cand.shape[0]:
            d_known, _ = cKDTree(np.vstack(known)).query(cand)
            cand = cand[np.asarray(d_known) > spacing / 2.0]
        if cand.shape[0] > 1:  # one candidate per lattice position
            dup = cKDTree(cand).query_pairs(spacing / 2.0, output_type="ndarray")
            keep = np.ones(cand.shape[0], dtype=bool)
            keep[dup[:, 1]] = False
            cand = cand[keep]
        virtual.append(cand)
        known.append(cand)
        frontier = cand
    return np.vstack(virtual) if virtual else np.zeros((0, 2))


@dataclass
class _Params:
    mu: FloatArray  # (n_cells, n_periods): background rate per day of each cell in each period
    theta: float
    omega: float
    sigma: float


@dataclass
class _Estep:
    p0: FloatArray  # per event: probability of being background
    b: FloatArray  # (n_cells, n_periods): sum of p0 per cell and period
    p_sum: float
    p_dt: float
    p_d2: float
    loglik: float


class _MassTable:
    """In-area share ``m_j(sigma)`` of each event's offspring, tabulated over ``log sigma``.

    ``m_j = sum_{area cells} g / sum_{area and outside cells} g``, ``g`` the Gaussian density at
    the centroids within ``reach`` of the event; linear interpolation in ``log sigma`` between
    64 values (constant beyond them), so that every evaluation in the EM is cheap and exact for
    the tabulated function.
    """

    def __init__(
        self,
        x: FloatArray,
        y: FloatArray,
        area_xy: FloatArray,
        out_xy: FloatArray,
        reach: float,
        spacing: float,
    ) -> None:
        n = x.shape[0]
        self.log_sigma = np.linspace(np.log(spacing / 50.0), np.log(max(reach, spacing)), 64)
        self.table = np.zeros((n, self.log_sigma.size))
        if n == 0:
            return
        all_xy = np.vstack([area_xy, out_xy])
        sdm = cKDTree(np.column_stack([x, y])).sparse_distance_matrix(
            cKDTree(all_xy), reach, output_type="ndarray"
        )
        j = sdm["i"].astype(np.intp)
        inside = sdm["j"] < area_xy.shape[0]
        d2 = sdm["v"] ** 2
        d2_min = np.full(n, np.inf)
        np.minimum.at(d2_min, j, d2)
        rel = d2 - d2_min[j]  # shift so the nearest centroid weighs 1 (no underflow)
        for k, ls in enumerate(self.log_sigma):
            g = np.exp(-rel / (2.0 * np.exp(2.0 * ls)))
            z = np.bincount(j, weights=g, minlength=n)
            a = np.bincount(j, weights=g * inside, minlength=n)
            self.table[:, k] = np.divide(a, z, out=np.zeros(n), where=z > 0)

    def _weights(self, sigma: float) -> tuple[int, float]:
        u = float(np.clip(np.log(sigma), self.log_sigma[0], self.log_sigma[-1]))
        k = min(int(np.searchsorted(self.log_sigma, u, side="right")) - 1, self.log_sigma.size - 2)
        f = (u - self.log_sigma[k]) / (self.log_sigma[k + 1] - self.log_sigma[k])
        return k, f

    def mass(self, sigma: float) -> FloatArray:
        """``m_j(sigma)`` for every event."""
        k, f = self._weights(sigma)
        return np.asarray((1.0 - f) * self.table[:, k] + f * self.table[:, k + 1])

    def weighted(self, c: FloatArray) -> FloatArray:
        """``sum_j c_j m_j(sigma_k)`` for every tabulated ``sigma_k``."""
        return np.asarray(self.table.T @ c)

    def interp(self, values: FloatArray, sigma: float) -> float:
        k, f = self._weights(sigma)
        return float((1.0 - f) * values[k] + f * values[k + 1])


class _Em:
    """The EM machinery for one data set (events, cells, window, kernel truncations)."""

    def __init__(
        self,
        ev: _Events,
        n_cells: int,
        horizon: float,
        lag: float,
        area: float,
        smoother: csr_matrix | None,
        min_sigma: float = 0.0,
        max_theta: float = np.inf,
        max_sigma: float = np.inf,
        min_omega: float = 0.0,
        period_days: float | None = None,
        time_smoother: FloatArray | None = None,
    ) -> None:
        self.ev = ev
        self.period_days = float(period_days) if period_days is not None else horizon
        self.n_periods = max(1, round(horizon / self.period_days))
        self.period = np.minimum((ev.t // self.period_days).astype(np.intp), self.n_periods - 1)
        self.time_smoother = time_smoother
        self.min_sigma = min_sigma
        self.max_theta = max_theta
        self.max_sigma = max_sigma
        self.min_omega = min_omega
        self.n_cells = n_cells
        self.horizon = horizon
        self.lag = lag
        self.area = area
        self.smoother = smoother
        self.tau = np.minimum(horizon - ev.t, lag)
        self.masses: _MassTable | None = None

    def g(self, omega: float) -> FloatArray:
        """``1 - exp(-omega tau_j)``: the visible share of every event's offspring in time."""
        return np.asarray(-np.expm1(-omega * self.tau))

    def expected_offspring(self, omega: float, sigma: float, radius: float) -> float:
        """``sum_j G_j(omega) S(sigma) m_j(sigma)``: offspring per unit theta, in the window."""
        g = self.g(omega)
        m = self.masses.mass(sigma) if self.masses is not None else 1.0
        return float(np.sum(g * m)) * _spatial_mass(sigma, radius)

    def estep(self, par: _Params, pairs: _Pairs) -> _Estep:
        ev = self.ev
        n = ev.t.shape[0]
        s2 = par.sigma**2
        w = (
            par.theta
            * par.omega
            * np.exp(-par.omega * pairs.dt)
            * (self.area / (2.0 * np.pi * s2))
            * np.exp(-pairs.d2 / (2.0 * s2))
        )
        bg = par.mu[ev.cell, self.period]
        den = np.maximum(bg + np.bincount(pairs.child, weights=w, minlength=n), _TINY)
        p = w / den[pairs.child]
        p0 = bg / den
        compensator = self.period_days * float(par.mu.sum()) + par.theta * self.expected_offspring(
            par.omega, par.sigma, pairs.radius
        )
        loglik = float(np.log(den / self.area).sum()) - compensator
        return _Estep(
            p0=p0,
            b=np.bincount(
                ev.cell * self.n_periods + self.period,
                weights=p0,
                minlength=self.n_cells * self.n_periods,
            )
            .reshape(self.n_cells, self.n_periods)
            .astype(np.float64),
            p_sum=float(p.sum()),
            p_dt=float(p @ pairs.dt),
            p_d2=float(p @ pairs.d2),
            loglik=loglik,
        )

    def _q(self, e: _Estep, theta: float, omega: float, sigma: float, radius: float) -> float:
        """Triggering part of the expected complete log-likelihood (up to a constant)."""
        if theta <= 0:
            return -np.inf if e.p_sum > 0 else 0.0
        return float(
            e.p_sum * (np.log(theta) + np.log(omega) - np.log(2.0 * np.pi * sigma**2))
            - omega * e.p_dt
            - e.p_d2 / (2.0 * sigma**2)
            - theta * self.expected_offspring(omega, sigma, radius)
        )

    def background(self, b: FloatArray) -> FloatArray:
        """Background rates per day ``(n_cells, n_periods)`` from the expected background
        events per cell and period: constant in time (their mean) or smoothed over the
        periods, then smoothed over the cells when asked; the total is kept."""
        if self.time_smoother is None:
            mu = np.repeat(b.sum(axis=1, keepdims=True) / self.horizon, self.n_periods, axis=1)
        else:
            mu = (b @ self.time_smoother) / self.period_days
        if self.smoother is not None:
            mu = np.asarray(self.smoother.T @ mu, dtype=np.float64)
        return np.asarray(mu, dtype=np.float64)

    def mstep(self, e: _Estep, old: _Params, radius: float) -> _Params:
        mu = self.background(e.b)
        if e.p_sum <= 0 or e.p_dt <= 0:
            return _Params(mu, 0.0, old.omega, old.sigma)
        ps = e.p_sum
        # coordinate ascent on the expected complete log-likelihood, theta profiled out:
        # first omega (sigma fixed), then sigma (omega fixed), then theta in closed form
        m_old = self.masses.mass(old.sigma) if self.masses is not None else np.ones_like(self.tau)

        def f_omega(u: float) -> float:
            om = float(np.exp(u))
            visible = max(float(np.sum(self.g(om) * m_old)), _TINY)
            return -(ps * u - om * e.p_dt - ps * np.log(visible))

        u_lo = float(np.log(self.min_omega)) if self.min_omega > 0 else -np.inf
        u_cf = max(float(np.log(ps / e.p_dt)), u_lo)
        cands = [u_cf, max(float(np.log(old.omega)), u_lo)]
        if u_cf - 8.0 < u_cf and max(u_cf - 8.0, u_lo) < u_cf:
            res = minimize_scalar(
                f_omega,
                bounds=(max(u_cf - 8.0, u_lo), u_cf),
                method="bounded",
                options={"xatol": 1e-10},
            )
            cands.append(float(res.x))
        omega = float(np.exp(min(cands, key=f_omega)))

        g_new = self.g(omega)
        per_sigma = self.masses.weighted(g_new) if self.masses is not None else None
        g_total = float(g_new.sum())

        def f_sigma(v: float) -> float:
            s = float(np.exp(v))
            mass = _spatial_mass(s, radius) * (
                self.masses.interp(per_sigma, s)
                if self.masses is not None and per_sigma is not None
                else g_total
            )
            return -(
                -ps * np.log(2.0 * np.pi * s * s)
                - e.p_d2 / (2.0 * s * s)
                - ps * np.log(max(mass, _TINY))
            )

        sigma_cf = float(np.sqrt(e.p_d2 / (2.0 * ps))) if e.p_d2 > 0 else old.sigma
        # the floor: the maximiser over [min_sigma, inf) is at the floor or above it
        v_top = float(np.log(self.max_sigma))
        v_cf = min(float(np.log(max(sigma_cf, self.min_sigma))), v_top)
        v_hi = max(v_cf, float(np.log(10.0 * radius))) if np.isfinite(radius) else v_cf
        v_hi = min(v_hi, v_top)
        cands = [v_cf, min(float(np.log(max(old.sigma, self.min_sigma))), v_top)]
        if v_hi > v_cf:
            res = minimize_scalar(
                f_sigma, bounds=(v_cf, v_hi), method="bounded", options={"xatol": 1e-10}
            )
            cands.append(float(res.x))
        sigma = float(np.exp(min(cands, key=f_sigma)))

        # the expected log-likelihood is concave in theta: the capped maximiser is the cap
        theta = min(ps / max(self.expected_offspring(omega, sigma, radius), _TINY), self.max_theta)
        # generalised-EM guard: never accept a step that lowers the expected log-likelihood
        theta_old = min(
            ps / max(self.expected_offspring(old.omega, old.sigma, radius), _TINY), self.max_theta
        )
        if self._q(e, theta, omega, sigma, radius) < self._q(
            e, theta_old, old.omega, old.sigma, radius
        ):
            theta, omega, sigma = theta_old, old.omega, old.sigma
        return _Params(mu, theta, omega, sigma)

    def run(
        self, par: _Params, pairs: _Pairs, tol: float, max_iter: int
    ) -> tuple[_Params, list[float], int, bool, _Estep]:
        path: list[float] = []
        converged = False
        it = 0
        e = self.estep(par, pairs)
        path.append(e.loglik)
        while it < max_iter:
            new = self.mstep(e, par, pairs.radius)
            it += 1
            change = max(
                abs(new.theta - par.theta) / max(par.theta, _THETA_FLOOR),
                abs(new.omega - par.omega) / par.omega,
                abs(new.sigma - par.sigma) / par.sigma,
                float(np.abs(new.mu - par.mu).sum() / max(par.mu.sum(), _TINY)),
            )
            par = new
            e = self.estep(par, pairs)
            path.append(e.loglik)
            # a stalled likelihood also ends the run: with hardly any contagion left, omega
            # and sigma drift without changing the fit
            stalled = abs(path[-1] - path[-2]) <= _LOGLIK_TOL * abs(path[-1])
            if change < tol or stalled:
                converged = True
                break
        return par, path, it, converged, e


@dataclass
class SeppGrid:
    """Self-exciting point process on the grid (Mohler et al. 2011, 2015), fitted by EM.

    Implements the :class:`~geotranquil.forecast.base.Forecaster` protocol. The model, the
    fitting and the forecast are described in the module docstring.

    Parameters
    ----------
    name : str
        Name of the method in backtests.
    max_lag_days : float
        Triggering is truncated after this many days (pairs further apart in time are ignored).
    max_distance_m : float, optional
        Triggering is truncated beyond this distance; by default about ``4 sigma``.
    background_bandwidth_m : float, optional
        Bandwidth of the Gaussian smoothing of the background over neighbouring cells (Mohler
        2015); None (default) for none.
    cell_area_m2 : float, optional
        Area of a cell; by default the hexagon area from the centroid spacing.
    edge_correction : bool
        Count offspring landing outside the study area as lost (default), rather than
        reassigning them to the area's cells.
    background_days : float, optional
        Bandwidth (days) of a background varying in time; None (default) for a constant one.
    min_sigma_m : float, optional
        Floor of ``sigma``; by default a quarter of the cell spacing.
    max_sigma_m, max_delay_days : float, optional
        Bounds of ``sigma`` and of the mean delay ``1 / omega`` (near-repeat scales); None
        (default) for none.
    max_theta : float
        Cap of ``theta`` (default 0.95).
    max_iter : int
        Maximum number of EM iterations (of the final run).
    tol : float
        Convergence threshold on the largest relative change of the parameters.

    Attributes
    ----------
    mu_ : (n,) float
        Background rate of each cell at the end of the training data, events per day.
    mu_periods_ : (n, n_periods) float
        Background rate of each cell in each period (constant along the periods without
        ``background_days``).
    min_sigma_ : float
        Floor of ``sigma`` used.
    theta_, omega_, sigma_ : float
        Contagion share (mean direct offspring per event), temporal decay rate (per day),
        spatial scale (metres).
    n_iter_ : int
        EM iterations in all (including the runs that settle the distance cut-off).
    loglik_ : float
        Log-likelihood of the training events at the fitted parameters.
    loglik_path_ : (n_iter + 1,) float
        Log-likelihood before each iteration of the final EM run, and at its end.
    converged_ : bool
        Whether the final run met ``tol`` within ``max_iter``.
    max_distance_ : float
        Distance cut-off ``R`` used.
    cell_area_m2_ : float
        Cell area used.
    p_background_ : (N,) float
        Probability that each training event (``data.events`` order) is a background event.

    Examples
    --------
    >>> from datetime import date
    >>> from geotranquil.forecast.simulate import forecast_data_from_events, simulate_sepp
    >>> xy = np.array([[400.0 * i + 200.0 * (j % 2), 346.41 * j]
    ...                for j in range(10) for i in range(10)])
    >>> ev = simulate_sepp(xy, np.full(100, 0.02), theta=0.4, omega=0.25, sigma=120.0,
    ...                    days=364, seed=3, cell_area_m2=138_564.0)
    >>> data = forecast_data_from_events(ev, np.arange(100), xy, 7, date(2024, 1, 1), 52)
    >>> model = SeppGrid().fit(data)
    >>> bool(0.2 < model.theta_ < 0.6), bool(80 < model.sigma_ < 160)
    (True, True)
    >>> model.predict(horizon=1).shape
    (100,)
    """

    name: str = "sepp"
    max_lag_days: float = 60.0
    max_distance_m: float | None = None
    background_bandwidth_m: float | None = None
    background_days: float | None = None
    cell_area_m2: float | None = None
    edge_correction: bool = True
    min_sigma_m: float | None = None
    max_sigma_m: float | None = None
    max_delay_days: float | None = None
    max_theta: float = 0.95
    max_iter: int = 200
    tol: float = 1e-5

    mu_: FloatArray = field(init=False, repr=False)
    mu_periods_: FloatArray = field(init=False, repr=False)
    theta_: float = field(init=False, repr=False)
    omega_: float = field(init=False, repr=False)
    sigma_: float = field(init=False, repr=False)
    n_iter_: int = field(init=False, repr=False)
    loglik_: float = field(init=False, repr=False)
    loglik_path_: FloatArray = field(init=False, repr=False)
    converged_: bool = field(init=False, repr=False)
    max_distance_: float = field(init=False, repr=False)
    cell_area_m2_: float = field(init=False, repr=False)
    min_sigma_: float = field(init=False, repr=False)
    p_background_: FloatArray = field(init=False, repr=False)
    _data: ForecastData | None = field(init=False, repr=False, default=None)
    _ev: _Events = field(init=False, repr=False)
    _spacing: float = field(init=False, repr=False)
    _out_xy: FloatArray = field(init=False, repr=False)

    # -- set-up -------------------------------------------------------------------------------

    def _prepare(self, data: ForecastData) -> tuple[_Em, float]:
        """Events sorted by time, cell area and spacing, background smoother."""
        if self.max_lag_days <= 0:
            raise ValueError("max_lag_days must be positive")
        if self.max_distance_m is not None and self.max_distance_m <= 0:
            raise ValueError("max_distance_m must be positive")
        if self.min_sigma_m is not None and self.min_sigma_m < 0:
            raise ValueError("min_sigma_m must be >= 0")
        if self.max_sigma_m is not None and not self.max_sigma_m > 0:
            raise ValueError("max_sigma_m must be positive")
        if self.max_delay_days is not None and not self.max_delay_days > 0:
            raise ValueError("max_delay_days must be positive")
        if not self.max_theta > 0:
            raise ValueError("max_theta must be positive")
        if self.background_days is not None and not self.background_days > 0:
            raise ValueError("background_days must be positive")
        xy = np.column_stack([data.x, data.y]).astype(np.float64)
        if self.cell_area_m2 is not None:
            if self.cell_area_m2 <= 0:
                raise ValueError("cell_area_m2 must be positive")
            area = float(self.cell_area_m2)
            spacing = float(np.sqrt(2.0 * area / np.sqrt(3.0)))
        else:
            spacing = _cell_spacing(xy)
            area = _hex_area(spacing)
        events = data.events
        t = events["t"].to_numpy(dtype=np.float64)
        cell = events["cell"].to_numpy(dtype=np.intp)
        if not np.isfinite(t).all() or (t < 0).any():
            raise ValueError("event times must be finite and non-negative")
        if cell.size and (cell.min() < 0 or cell.max() >= data.n_cells):
            raise ValueError("event cell index outside the grid")
        # an event without a position is put at its cell's centroid
        x = events["x"].to_numpy(dtype=np.float64).copy()
        y = events["y"].to_numpy(dtype=np.float64).copy()
        bad = ~(np.isfinite(x) & np.isfinite(y))
        x[bad], y[bad] = data.x[cell[bad]], data.y[cell[bad]]
        order = np.argsort(t, kind="stable")
        ev = _Events(t[order], x[order], y[order], cell[order], order)
        horizon = float(data.n_periods * data.period_days)
        if ev.t.size and ev.t[-1] >= horizon:
            raise ValueError("events after the end of the periods")
        smoother = None
        if self.background_bandwidth_m is not None:
            smoother = _smoothing_matrix(xy, float(self.background_bandwidth_m))
        self._data = data
        self._ev = ev
        self.cell_area_m2_ = area
        self._spacing = spacing
        self.min_sigma_ = (
            float(self.min_sigma_m)
            if self.min_sigma_m is not None
            else _MIN_SIGMA_SPACINGS * spacing
        )
        em = _Em(
            ev,
            data.n_cells,
            horizon,
            float(self.max_lag_days),
            area,
            smoother,
            min_sigma=self.min_sigma_,
            max_theta=float(self.max_theta),
            max_sigma=(
                max(float(self.max_sigma_m), self.min_sigma_)
                if self.max_sigma_m is not None
                else np.inf
            ),
            min_omega=1.0 / self.max_delay_days if self.max_delay_days is not None else 0.0,
            period_days=float(data.period_days),
            time_smoother=(
                None
                if self.background_days is None
                else _time_smoothing(data.n_periods, self.background_days / data.period_days)
            ),
        )
        return em, spacing

    def _reach(self, radius: float) -> float:
        """Distance within which cell centroids enter an event's kernel and normaliser."""
        circumradius = np.sqrt(2.0 * self.cell_area_m2_ / (3.0 * np.sqrt(3.0)))
        return float(min(radius, _MAX_R_SPACINGS * self._spacing) + circumradius)

    def _set_radius(self, em: _Em, radius: float) -> None:
        """Cells outside the area (edge correction) and the in-area mass table for ``radius``."""
        data = self._fitted()
        area_xy = np.column_stack([data.x, data.y]).astype(np.float64)
        reach = self._reach(radius)
        self._out_xy = (
            _virtual_cells(area_xy, self._spacing, reach)
            if self.edge_correction
            else np.zeros((0, 2))
        )
        em.masses = _MassTable(em.ev.x, em.ev.y, area_xy, self._out_xy, reach, self._spacing)

    def _store(self, par: _Params, em: _Em, e: _Estep, radius: float) -> None:
        self.mu_ = par.mu[:, -1].copy()
        self.mu_periods_ = par.mu
        self.theta_ = par.theta
        self.omega_ = par.omega
        self.sigma_ = par.sigma
        self.max_distance_ = radius
        self.loglik_ = e.loglik
        p0 = np.empty_like(e.p0)
        p0[em.ev.order] = e.p0
        self.p_background_ = p0

    # -- public -------------------------------------------------------------------------------

    def fit(self, data: ForecastData) -> Self:
        """Estimate ``mu_``, ``theta_``, ``omega_`` and ``sigma_`` by EM on ``data``."""
        em, spacing = self._prepare(data)
        ev = em.ev
        n_ev = np.bincount(ev.cell, minlength=data.n_cells).astype(np.float64)
        par = _Params(
            mu=np.repeat((0.5 * n_ev / em.horizon)[:, None], em.n_periods, axis=1),
            theta=0.5,
            omega=max(min(1.0 / 7.0, 6.0 / float(self.max_lag_days)), em.min_omega),
            sigma=float(np.clip(spacing / 2.0, self.min_sigma_, em.max_sigma)),
        )
        total = 0
        if self.max_distance_m is not None:
            radius = float(self.max_distance_m)
            pairs = _find_pairs(ev, radius, em.lag)
            self._set_radius(em, radius)
        else:
            r_max = _MAX_R_SPACINGS * spacing
            radius = 4.0 * par.sigma
            pairs = _find_pairs(ev, radius, em.lag)
            self._set_radius(em, radius)
            for _ in range(_MAX_R_RESETS):
                par, _, it, _, _ = em.run(par, pairs, max(self.tol, _PILOT_TOL), self.max_iter)
                total += it
                if par.theta <= 0 or 4.0 * par.sigma <= radius <= 6.0 * par.sigma:
                    break
                if radius >= r_max and 4.0 * par.sigma > radius:
                    break
                new_radius = min(5.0 * par.sigma, r_max)
                if new_radius <= pairs.radius:
                    pairs = pairs.within(new_radius)
                else:
                    pairs = _find_pairs(ev, new_radius, em.lag)
                radius = new_radius
                self._set_radius(em, radius)
        par, path, it, converged, e = em.run(par, pairs, self.tol, self.max_iter)
        self.n_iter_ = total + it
        self.loglik_path_ = np.asarray(path, dtype=np.float64)
        self.converged_ = converged
        self._store(par, em, e, radius)
        return self

    def use_parameters(
        self,
        data: ForecastData,
        *,
        mu: npt.ArrayLike,
        theta: float,
        omega: float,
        sigma: float,
    ) -> Self:
        """Take the parameters as given instead of fitting them (scenarios, tests, refits).

        ``loglik_`` and ``p_background_`` are computed for ``data`` at these parameters; the
        distance cut-off is ``max_distance_m`` or ``4 sigma``.

        Examples
        --------
        >>> from datetime import date
        >>> import pandas as pd
        >>> d = ForecastData(np.array([1, 2]), np.array([0.0, 400.0]), np.zeros(2),
        ...                  np.array([[1], [0]]), [date(2025, 1, 6)], 7,
        ...                  pd.DataFrame({"t": [1.0], "x": 0.0, "y": 0.0, "cell": [0]}))
        >>> m = SeppGrid().use_parameters(d, mu=[0.1, 0.2], theta=0.0, omega=1.0, sigma=100.0)
        >>> m.predict(horizon=1).round(6).tolist()
        [0.7, 1.4]
        """
        mu_arr = np.asarray(mu, dtype=np.float64)
        if mu_arr.shape != (data.n_cells,):
            raise ValueError(f"mu must have shape ({data.n_cells},), got {mu_arr.shape}")
        if theta < 0 or omega <= 0 or sigma <= 0:
            raise ValueError("theta must be >= 0, omega and sigma positive")
        em, _ = self._prepare(data)
        radius = float(self.max_distance_m) if self.max_distance_m is not None else 4.0 * sigma
        par = _Params(
            np.repeat(mu_arr[:, None], em.n_periods, axis=1),
            float(theta),
            float(omega),
            float(sigma),
        )
        self._set_radius(em, radius)
        e = em.estep(par, _find_pairs(em.ev, radius, em.lag))
        self.n_iter_ = 0
        self.loglik_path_ = np.array([e.loglik])
        self.converged_ = True
        self._store(par, em, e, radius)
        return self

    def _fitted(self) -> ForecastData:
        if self._data is None:
            raise RuntimeError("SeppGrid is not fitted: call fit() first")
        return self._data

    def _kernel(self, idx: IndexArray) -> tuple[IndexArray, IndexArray, FloatArray]:
        """Cell kernel of the events ``idx`` (sorted order) as (event, cell, k) triples.

        ``k = S g(d_ij) / sum_l g(d_lj)`` over the area's cells ``i``; the normaliser runs over
        the area's cells and (edge correction) the grid continued outside, so the ``k`` of one
        event sum to ``S m_j``: the share of its offspring that lands inside the study area.
        """
        data = self._fitted()
        ev = self._ev
        if idx.size == 0:
            empty = np.zeros(0, dtype=np.intp)
            return empty, empty, np.zeros(0)
        all_xy = np.vstack([np.column_stack([data.x, data.y]), self._out_xy])
        ev_tree = cKDTree(np.column_stack([ev.x[idx], ev.y[idx]]))
        sdm = ev_tree.sparse_distance_matrix(
            cKDTree(all_xy), self._reach(self.max_distance_), output_type="ndarray"
        )
        j = sdm["i"].astype(np.intp)
        i = sdm["j"].astype(np.intp)
        d2 = sdm["v"] ** 2
        d2_min = np.full(idx.size, np.inf)
        np.minimum.at(d2_min, j, d2)
        g = np.exp(-(d2 - d2_min[j]) / (2.0 * self.sigma_**2))
        z = np.bincount(j, weights=g, minlength=idx.size)
        k = _spatial_mass(self.sigma_, self.max_distance_) * g / z[j]
        inside = i < data.n_cells
        return j[inside], i[inside], k[inside]

    def intensity(self, t: float) -> FloatArray:
        """``lambda_i(t)``, expected events per day in every cell at time ``t`` (days).

        Only the training events before ``t`` (and at most ``max_lag_days`` earlier) count.

        Examples
        --------
        >>> from datetime import date
        >>> import pandas as pd
        >>> d = ForecastData(np.array([1, 2]), np.array([0.0, 400.0]), np.zeros(2),
        ...                  np.array([[1], [0]]), [date(2025, 1, 6)], 7,
        ...                  pd.DataFrame({"t": [1.0], "x": 200.0, "y": 0.0, "cell": [0]}))
        >>> m = SeppGrid(max_distance_m=5000, edge_correction=False).use_parameters(
        ...     d, mu=[0.1, 0.2], theta=0.5, omega=np.log(2), sigma=100.0)
        >>> m.intensity(2.0).round(6).tolist()  # mu + 0.5 ln2 2^-1 * 1/2 (event between cells)
        [0.186643, 0.286643]
        """
        data = self._fitted()
        ev = self._ev
        sel = np.flatnonzero((ev.t < t) & (t - ev.t <= self.max_lag_days)).astype(np.intp)
        j, i, k = self._kernel(sel)
        w = self.theta_ * self.omega_ * np.exp(-self.omega_ * (t - ev.t[sel]))
        period = int(np.clip(t // data.period_days, 0, self.mu_periods_.shape[1] - 1))
        mu = self.mu_periods_[:, period]
        return mu + np.bincount(i, weights=w[j] * k, minlength=mu.shape[0])

    def predict(self, horizon: int = 1) -> FloatArray:
        """Expected events per cell in the ``horizon`` periods after the training data.

        ``mu_i H + sum_j theta (exp(-omega a_j) - exp(-omega min(a_j + H, max_lag))) k(d_ij)``
        with ``H = horizon * period_days`` and ``a_j`` the age of event ``j`` at the origin.

        Examples
        --------
        >>> from datetime import date
        >>> import pandas as pd
        >>> d = ForecastData(np.array([1, 2]), np.array([0.0, 400.0]), np.zeros(2),
        ...                  np.array([[1], [0]]), [date(2025, 1, 6)], 7,
        ...                  pd.DataFrame({"t": [6.0], "x": 200.0, "y": 0.0, "cell": [0]}))
        >>> m = SeppGrid(max_distance_m=5000, edge_correction=False).use_parameters(
        ...     d, mu=[0.0, 0.0], theta=0.5, omega=np.log(2), sigma=100.0)
        >>> m.predict(horizon=1).round(6).tolist()  # 0.5 (2^-1 - 2^-8) / 2 each
        [0.124023, 0.124023]
        """
        data = self._fitted()
        if horizon < 1:
            raise ValueError("horizon must be at least 1 period")
        ev = self._ev
        origin = float(data.n_periods * data.period_days)
        h = float(horizon * data.period_days)
        age = origin - ev.t
        sel = np.flatnonzero(age < self.max_lag_days).astype(np.intp)
        a = age[sel]
        end = np.minimum(a + h, self.max_lag_days)
        w = self.theta_ * (np.exp(-self.omega_ * a) - np.exp(-self.omega_ * end))
        j, i, k = self._kernel(sel)
        return self.mu_ * h + np.bincount(i, weights=w[j] * k, minlength=self.mu_.shape[0])


def _smoothing_matrix(xy: FloatArray, bandwidth: float) -> csr_matrix:
    """Row-normalised Gaussian weights from each cell to the cells within 4 bandwidths."""
    if bandwidth <= 0:
        raise ValueError("background_bandwidth_m must be positive")
    n = xy.shape[0]
    tree = cKDTree(xy)
    sdm = tree.sparse_distance_matrix(tree, 4.0 * bandwidth, output_type="ndarray")
    w = np.exp(-(sdm["v"] ** 2) / (2.0 * bandwidth**2))
    m = coo_matrix((w, (sdm["i"], sdm["j"])), shape=(n, n)).tocsr()
    rows = np.asarray(m.sum(axis=1)).ravel()
    return csr_matrix(m.multiply(1.0 / rows[:, None]))


def _time_smoothing(n_periods: int, bandwidth: float) -> FloatArray:
    """``(n_periods, n_periods)`` Gaussian weights of bandwidth ``bandwidth`` periods from each
    source period (row) to the others, each row summing to 1 (the mass stays in the window)."""
    k = np.arange(n_periods, dtype=np.float64)
    w = np.exp(-((k[:, None] - k[None, :]) ** 2) / (2.0 * bandwidth**2))
    return np.asarray(w / w.sum(axis=1, keepdims=True), dtype=np.float64)
