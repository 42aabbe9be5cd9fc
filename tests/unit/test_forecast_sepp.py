"""Self-exciting point process on the grid: hand-computed values and planted parameters."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from geotranquil.forecast.base import ForecastData
from geotranquil.forecast.sepp import SeppGrid
from geotranquil.forecast.simulate import forecast_data_from_events, simulate_sepp

SPACING = 400.0
CELL_AREA = np.sqrt(3.0) / 2.0 * SPACING**2  # hexagon whose neighbours are 400 m apart


def _lattice(nx: int, ny: int) -> np.ndarray:
    """Centroids of a hexagonal lattice, 400 m between neighbours, in metres."""
    h = SPACING * np.sqrt(3.0) / 2.0
    return np.array(
        [[SPACING * i + SPACING / 2.0 * (j % 2), h * j] for j in range(ny) for i in range(nx)]
    )


XY = _lattice(20, 20)
# a smooth background: 0.004 /day at the corners, 0.02 /day in the centre
_R2 = ((XY - XY.mean(axis=0)) ** 2).sum(axis=1)
MU = 0.002 + 0.018 * np.exp(-_R2 / (2.0 * 2500.0**2))


def _simulated(mu: np.ndarray, theta: float, seed: int, days: int = 728) -> ForecastData:
    ev = simulate_sepp(
        XY, mu, theta=theta, omega=0.2, sigma=150.0, days=days, seed=seed, cell_area_m2=CELL_AREA
    )
    return forecast_data_from_events(ev, np.arange(XY.shape[0]), XY, 7, date(2023, 1, 2), days // 7)


# -- a tiny example computed by hand --------------------------------------------------------
#
# Two cells, centroids (0, 0) and (400, 0); one 7-day period (T = 7); three events:
#   e1 t=1 at (0, 0) in cell 0, e2 t=3 at (200, 0) in cell 0, e3 t=4 at (400, 0) in cell 1.
# Parameters: mu = (0.1, 0.2) /day, theta = 0.5, omega = ln 2 (so exp(-omega dt) = 2^-dt),
# sigma^2 = 80,000 m^2 (so exp(-d^2 / (2 sigma^2)) = e^-1 at 400 m and e^-0.25 at 200 m),
# max_distance 2,000 m: S = 1 - exp(-2000^2 / 160,000) = 1 - e^-25.
# Kernel renormalised over the two cells (no edge correction):
#   e1: k = S (1, e^-1) / (1 + e^-1);  e2: k = S (1/2, 1/2);  e3: k = S (e^-1, 1) / (1 + e^-1).

S = 1.0 - np.exp(-25.0)
K_NEAR = S / (1.0 + np.exp(-1.0))  # 0.7310585786...
K_FAR = S * np.exp(-1.0) / (1.0 + np.exp(-1.0))  # 0.2689414213...


def _tiny(**kw: float) -> SeppGrid:
    data = ForecastData(
        cells=np.array([10, 11]),
        x=np.array([0.0, 400.0]),
        y=np.zeros(2),
        counts=np.array([[2], [1]]),
        periods=[date(2025, 1, 6)],
        period_days=7,
        events=pd.DataFrame(
            {"t": [1.0, 3.0, 4.0], "x": [0.0, 200.0, 400.0], "y": 0.0, "cell": [0, 0, 1]}
        ),
    )
    model = SeppGrid(max_distance_m=2000.0, edge_correction=False, **kw)
    return model.use_parameters(
        data, mu=[0.1, 0.2], theta=0.5, omega=np.log(2.0), sigma=np.sqrt(80_000.0)
    )


def test_intensity_by_hand() -> None:
    m = _tiny()
    # lambda_i(5) = mu_i + theta omega (2^-4 k_e1 + 2^-2 k_e2 + 2^-1 k_e3)
    # cell 0: 0.1 + 0.5 ln2 (0.0625 * 0.731059 + 0.25 * 0.5 + 0.5 * 0.268941)
    #       = 0.1 + 0.346574 * 0.305162 = 0.205761
    # cell 1: 0.2 + 0.5 ln2 (0.0625 * 0.268941 + 0.25 * 0.5 + 0.5 * 0.731059)
    #       = 0.2 + 0.346574 * 0.507338 = 0.375830
    tw = 0.5 * np.log(2.0)
    expected = [
        0.1 + tw * (0.0625 * K_NEAR + 0.25 * 0.5 * S + 0.5 * K_FAR),
        0.2 + tw * (0.0625 * K_FAR + 0.25 * 0.5 * S + 0.5 * K_NEAR),
    ]
    assert m.intensity(5.0) == pytest.approx(expected, rel=1e-12)
    assert m.intensity(5.0) == pytest.approx([0.205761, 0.375830], abs=1e-6)
    # at t = 3 only e1 counts (strictly earlier events): 0.1 + 0.5 ln2 2^-2 k_e1
    assert m.intensity(3.0) == pytest.approx([0.1 + tw * 0.25 * K_NEAR, 0.2 + tw * 0.25 * K_FAR])
    # before any event: the background
    assert m.intensity(0.5) == pytest.approx([0.1, 0.2])


def test_intensity_respects_max_lag() -> None:
    m = _tiny(max_lag_days=2.5)
    # at t = 5, e1 (4 days back) is beyond the lag: only e2 (2 days) and e3 (1 day)
    tw = 0.5 * np.log(2.0)
    assert m.intensity(5.0) == pytest.approx(
        [0.1 + tw * (0.25 * 0.5 * S + 0.5 * K_FAR), 0.2 + tw * (0.25 * 0.5 * S + 0.5 * K_NEAR)],
        rel=1e-12,
    )


def test_predict_by_hand() -> None:
    m = _tiny()
    # origin T = 7, H = 7 days; ages a = 6, 4, 3; each event adds
    # theta (2^-a - 2^-(a+7)) k = 0.5 (127/128) 2^-a k
    # cell 0: 0.7 + 0.496094 (0.731059/64 + 0.5/16 + 0.268941/8) = 0.7 + 0.496094 * 0.076290
    #       = 0.737847
    # cell 1: 1.4 + 0.496094 (0.268941/64 + 0.5/16 + 0.731059/8) = 1.4 + 0.496094 * 0.126835
    #       = 1.462922
    c = 0.5 * 127.0 / 128.0
    expected = [
        0.7 + c * (K_NEAR / 64 + 0.5 * S / 16 + K_FAR / 8),
        1.4 + c * (K_FAR / 64 + 0.5 * S / 16 + K_NEAR / 8),
    ]
    assert m.predict(horizon=1) == pytest.approx(expected, rel=1e-12)
    assert m.predict(horizon=1) == pytest.approx([0.737847, 1.462922], abs=1e-6)
    # two periods: H = 14, factor (1 - 2^-14) instead of (1 - 2^-7)
    c2 = 0.5 * (1.0 - 2.0**-14)
    assert m.predict(horizon=2)[0] == pytest.approx(
        1.4 + c2 * (K_NEAR / 64 + 0.5 * S / 16 + K_FAR / 8), rel=1e-12
    )


def test_loglik_by_hand() -> None:
    m = _tiny()
    # point intensities (per m^2 per day) at the events: mu_cell / A + theta omega 2^-dt g(d),
    # g(d) = exp(-d^2 / 160,000) / (2 pi 80,000); pairs (e1,e2): dt 2, d 200;
    # (e1,e3): dt 3, d 400; (e2,e3): dt 1, d 200
    tw = 0.5 * np.log(2.0)
    g200 = np.exp(-0.25) / (2.0 * np.pi * 80_000.0)
    g400 = np.exp(-1.0) / (2.0 * np.pi * 80_000.0)
    lam1 = 0.1 / CELL_AREA
    lam2 = 0.1 / CELL_AREA + tw * 0.25 * g200
    lam3 = 0.2 / CELL_AREA + tw * (0.125 * g400 + 0.5 * g200)
    # compensator: T sum(mu) + theta S sum_j (1 - 2^-(7 - t_j)) = 2.1 + 0.5 S (63/64 + 15/16 + 7/8)
    comp = 7 * 0.3 + 0.5 * S * (63 / 64 + 15 / 16 + 7 / 8)
    expected = np.log(lam1) + np.log(lam2) + np.log(lam3) - comp
    assert m.loglik_ == pytest.approx(expected, rel=1e-12)
    # probability that e2 is background: (0.1 / A) / lam2
    assert m.p_background_[1] == pytest.approx(0.1 / CELL_AREA / lam2, rel=1e-12)


def _share_inside(x: float, y: float, cell: int, edge_correction: bool) -> float:
    """Share of one event's offspring counted in the 15 x 15 lattice's cells."""
    xy = _lattice(15, 15)
    data = ForecastData(
        cells=np.arange(225),
        x=xy[:, 0],
        y=xy[:, 1],
        counts=np.bincount([cell], minlength=225).reshape(-1, 1),
        periods=[date(2025, 1, 6)],
        period_days=7,
        events=pd.DataFrame({"t": [5.0], "x": [x], "y": [y], "cell": [cell]}),
    )
    m = SeppGrid(edge_correction=edge_correction).use_parameters(
        data, mu=np.zeros(225), theta=0.5, omega=0.2, sigma=150.0
    )
    # all its offspring in the next 7 days: theta (e^-omega a - e^-omega (a + H)), a = 2
    return float(m.predict(horizon=1).sum() / (0.5 * (np.exp(-0.4) - np.exp(-1.8))))


def test_offspring_outside_the_area_are_not_counted() -> None:
    xy = _lattice(15, 15)
    mid, corner, left = 7 * 15 + 7, 0, 6 * 15  # row 6 is not offset: its left edge is x = -200
    inner = _share_inside(*xy[mid], mid, True)
    at_corner = _share_inside(*xy[corner], corner, True)
    on_edge = _share_inside(xy[left, 0] - 200.0, xy[left, 1], left, True)
    print(f"\nshare inside: centre {inner:.4f} corner cell {at_corner:.4f} on edge {on_edge:.4f}")
    assert inner == pytest.approx(1.0, abs=1e-3)
    assert 0.8 < at_corner < 0.97  # 200 m (1.3 sigma) from the nearest border
    assert 0.25 < on_edge < 0.55  # on the border (a zigzag one): about half or less
    # without the edge correction, every offspring is kept in the area (up to the mass
    # 1 - e^-8 that the default cut-off R = 4 sigma keeps)
    kept = 1.0 - np.exp(-8.0)
    assert _share_inside(*xy[corner], corner, False) == pytest.approx(kept, rel=1e-9)
    assert _share_inside(xy[left, 0] - 200.0, xy[left, 1], left, False) == pytest.approx(kept)


def test_parameter_recovery() -> None:
    """Planted theta = 0.3, omega = 0.2 /day, sigma = 150 m, smooth mu 0.004-0.02 /day.

    400 cells, 728 days, seed 1 (about 4,700 events). Tolerances: theta within +-0.05 (absolute),
    omega and sigma within +-25 %, the total background rate within +-10 %. The background is
    smoothed (Mohler 2015, bandwidth 1,200 m): with a free rate per cell (about 8 background
    events each here) the EM lets the per-cell rates absorb part of the clustering and theta
    comes out about 0.03-0.05 low, a known property of the unsmoothed estimator.
    """
    data = _simulated(MU, theta=0.3, seed=1)
    m = SeppGrid(background_bandwidth_m=1200.0).fit(data)
    print(
        f"\nrecovery: theta={m.theta_:.4f} omega={m.omega_:.4f} sigma={m.sigma_:.1f} "
        f"sum(mu)={m.mu_.sum():.4f} (true {MU.sum():.4f}) n_iter={m.n_iter_} "
        f"events={len(data.events)}"
    )
    assert abs(m.theta_ - 0.3) < 0.05
    assert m.omega_ == pytest.approx(0.2, rel=0.25)
    assert m.sigma_ == pytest.approx(150.0, rel=0.25)
    assert m.mu_.sum() == pytest.approx(MU.sum(), rel=0.10)
    assert m.converged_
    assert m.p_background_.shape == (len(data.events),)
    assert m.predict(horizon=4).shape == (400,)


def test_no_contagion_is_found_as_none() -> None:
    data = _simulated(MU, theta=0.0, seed=2)
    m = SeppGrid().fit(data)
    print(f"\ntheta=0: theta={m.theta_:.4f} sum(mu)={m.mu_.sum():.4f} (true {MU.sum():.4f})")
    assert m.theta_ < 0.05
    assert m.mu_.sum() == pytest.approx(MU.sum(), rel=0.10)


@pytest.mark.parametrize("max_distance_m", [None, 600.0])
def test_em_increases_loglik_monotonically(max_distance_m: float | None) -> None:
    data = _simulated(MU, theta=0.3, seed=3, days=364)
    m = SeppGrid(max_distance_m=max_distance_m).fit(data)
    path = m.loglik_path_
    assert path.size >= 3
    assert np.all(np.diff(path) >= -1e-9 * np.abs(path[1:]))
    assert path[-1] == pytest.approx(m.loglik_)
    assert path[-1] > path[0]


def test_fit_on_a_cut_and_validation() -> None:
    data = _simulated(MU, theta=0.3, seed=4, days=364)
    cut = data.until(40)
    m = SeppGrid().fit(cut)
    pred = m.predict(horizon=2)
    assert pred.shape == (400,) and (pred > 0).all()
    # background rate times two weeks is a lower bound of the forecast
    assert (pred >= m.mu_ * 14 - 1e-12).all()
    with pytest.raises(RuntimeError):
        SeppGrid().predict()
    with pytest.raises(ValueError):
        m.predict(horizon=0)


def test_simulation_is_consistent_and_seeded() -> None:
    ev = simulate_sepp(
        XY, MU, theta=0.3, omega=0.2, sigma=150.0, days=364, seed=9, cell_area_m2=CELL_AREA
    )
    again = simulate_sepp(
        XY, MU, theta=0.3, omega=0.2, sigma=150.0, days=364, seed=9, cell_area_m2=CELL_AREA
    )
    pd.testing.assert_frame_equal(ev, again)
    assert ev.attrs["n_background"] + ev.attrs["n_offspring"] == len(ev)
    assert ev.attrs["n_dropped_outside"] > 0
    # offspring share close to theta (minus what the border and the window end lose)
    assert 0.22 < ev.attrs["n_offspring"] / len(ev) < 0.32
    data = forecast_data_from_events(ev, np.arange(400), XY, 7, date(2023, 1, 2), 52)
    assert data.counts.sum() == len(data.events) == len(ev)
    week = np.floor(data.events["t"] / 7).astype(int)
    assert data.counts[data.events["cell"][0], week[0]] >= 1
    bg_only = simulate_sepp(
        XY, MU, theta=0.0, omega=0.2, sigma=150.0, days=364, seed=9, cell_area_m2=CELL_AREA
    )
    assert bg_only.attrs["n_offspring"] == 0
    assert len(bg_only) == pytest.approx(MU.sum() * 364, rel=0.1)


def test_recovery_at_scale_20000_events() -> None:
    data = _simulated(MU * 4.4, theta=0.3, seed=5)
    assert len(data.events) > 18_000
    m = SeppGrid().fit(data)
    assert m.converged_
    assert m.theta_ == pytest.approx(0.3, abs=0.05)
    assert m.omega_ == pytest.approx(0.2, rel=0.15)
    assert m.sigma_ == pytest.approx(150.0, rel=0.1)


def _fixed_places(seed: int) -> ForecastData:
    """Background only, at 30 fixed places (sensors, addresses): many events share a position."""
    rng = np.random.default_rng(seed)
    places = XY[rng.choice(XY.shape[0], 30, replace=False)] + rng.uniform(-100, 100, (30, 2))
    n = 3000
    which = rng.integers(0, 30, n)
    cell = np.argmin(((places[which][:, None, :] - XY[None, :, :]) ** 2).sum(axis=2), axis=1)
    ev = pd.DataFrame(
        {
            "t": np.sort(rng.uniform(0, 364, n)),
            "x": places[which, 0],
            "y": places[which, 1],
            "cell": cell,
        }
    )
    return forecast_data_from_events(ev, np.arange(XY.shape[0]), XY, 7, date(2023, 1, 2), 52)


def test_repeated_positions_do_not_make_the_fit_degenerate() -> None:
    data = _fixed_places(4)
    free = SeppGrid().fit(data)
    assert free.min_sigma_ == pytest.approx(SPACING / 4.0, rel=0.01)
    assert free.sigma_ >= free.min_sigma_ * (1 - 1e-9)
    assert free.theta_ <= 0.95 + 1e-12
    assert np.isfinite(free.loglik_)
    bounded = SeppGrid(max_sigma_m=300.0, max_delay_days=14.0).fit(data)
    assert bounded.sigma_ <= 300.0 * (1 + 1e-9)
    assert 1.0 / bounded.omega_ <= 14.0 * (1 + 1e-9)
    # but a point mass inside a cell is not what a cell-uniform background describes: the
    # kernel takes it, and theta is no measure of contagion on such data (module docstring)
    assert bounded.theta_ > 0.5


def test_bounds_are_checked() -> None:
    data = _fixed_places(4)
    for kw in (
        {"min_sigma_m": -1.0},
        {"max_sigma_m": 0.0},
        {"max_delay_days": 0.0},
        {"max_theta": 0.0},
        {"background_days": 0.0},
    ):
        with pytest.raises(ValueError):
            SeppGrid(**kw).fit(data)  # type: ignore[arg-type]


def test_background_varying_in_time_follows_a_step() -> None:
    """A cell whose rate jumps from 0.02 to 0.5 a day half-way: the varying background ends
    near the new rate, the constant one at the mean; both keep the total."""
    rng = np.random.default_rng(7)
    t = np.sort(np.concatenate([rng.uniform(0, 182, 4), rng.uniform(182, 364, 90)]))
    ev = pd.DataFrame({"t": t, "x": XY[0, 0], "y": XY[0, 1], "cell": 0})
    data = forecast_data_from_events(ev, np.arange(XY.shape[0]), XY, 7, date(2023, 1, 2), 52)
    opts = {"max_theta": 1e-9}  # background only
    flat = SeppGrid(**opts).fit(data)  # type: ignore[arg-type]
    varying = SeppGrid(background_days=28.0, **opts).fit(data)  # type: ignore[arg-type]
    assert flat.mu_[0] == pytest.approx(94 / 364, rel=1e-3)
    assert varying.mu_[0] > 0.35
    assert varying.mu_periods_[0, :20].mean() < 0.1
    assert (varying.mu_periods_.sum() * 7) == pytest.approx(94, rel=1e-3)
