"""Forecasting on the demo data against its planted ground truth.

The demo's generator (:func:`geotranquil.synth.generator.simulate`, the same draws as
``geotranquil demo``: official Marseille geography, seed 42) knows which events are planted
near-repeats (Poisson(0.25) children of every event, within 150 m, 1 to 7 days later) and where
and when the emerging hot spot starts (rodeos at Le Merlan, the last four months). These tests
check that

* the self-exciting model, with its triggering bounded to near-repeat scales, finds the
  contagion (contagion share well above zero, and near the planted one), finds none when the
  planted near-repeats are removed or the times shuffled (same places, no contagion: the null),
  and gives the planted near-repeats a lower probability of being background events;
* our recommended forecast lifts the emerging hot spot into the top 2 % of the ranking within
  six weeks of its onset, when a map of the past year has seen only a part of it, much sooner
  than a retrospective kernel density.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache

import h3
import numpy as np
import pandas as pd
import pytest

from geotranquil.forecast.base import ForecastData
from geotranquil.forecast.baselines import KernelDensity
from geotranquil.forecast.registry import RECOMMENDED, make_method
from geotranquil.forecast.sepp import SeppGrid
from geotranquil.forecast.simulate import forecast_data_from_events
from geotranquil.geography.reference import load_geography
from geotranquil.synth.area import to_l93, to_wgs84
from geotranquil.synth.generator import Simulation, simulate
from geotranquil.synth.planted import EMERGING, PlacedItem
from geotranquil.synth.timegrid import local_midnight
from geotranquil.synth.vocab import CATEGORY_INDEX
from tests.conftest import official_dir_or_skip

#: near-repeat scales of the bounded model: 300 m, mean delay at most two weeks
NEAR_REPEAT = {"max_sigma_m": 300.0, "max_delay_days": 14.0}


@cache
def _simulation(months: int) -> Simulation:
    return simulate(load_geography(official_dir_or_skip()), months=months, seed=42)


def _weekly(
    sim: Simulation, keep: np.ndarray, *, shuffle_seed: int | None = None
) -> tuple[ForecastData, np.ndarray]:
    """Weekly data on the commune's resolution-9 cells of the events ``keep``; also the mask
    (over ``sim.events``) of the events that are in it."""
    ev = sim.events
    geo = load_geography(official_dir_or_skip())
    cells = np.unique([h3.str_to_int(c) for c in h3.geo_to_cells(geo.commune, 9)])
    centres = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells])
    cx, cy = to_l93(centres[:, 1], centres[:, 0])
    lon, lat = to_wgs84(ev.x, ev.y)
    ids = np.array(
        [h3.str_to_int(h3.latlng_to_cell(b, a, 9)) for a, b in zip(lon, lat, strict=True)]
    )
    pos = np.minimum(np.searchsorted(cells, ids), cells.size - 1)
    used = keep & (cells[pos] == ids)
    monday = sim.start - timedelta(days=sim.start.weekday())
    t = (ev.t - local_midnight(monday)) / 86400.0
    frame = pd.DataFrame({"t": t[used], "x": ev.x[used], "y": ev.y[used], "cell": pos[used]})
    if shuffle_seed is not None:
        rng = np.random.default_rng(shuffle_seed)
        frame["t"] = rng.permutation(frame["t"].to_numpy())
    n_weeks = int(t.max() // 7)  # complete weeks only
    data = forecast_data_from_events(frame, cells, np.column_stack([cx, cy]), 7, monday, n_weeks)
    return data, used & (t < n_weeks * 7)


# -- contagion ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def six_months() -> Simulation:
    return _simulation(6)


def test_planted_near_repeats_are_found(six_months: Simulation) -> None:
    ev = six_months.events
    data, used = _weekly(six_months, np.ones(len(ev.t), bool))
    model = SeppGrid(**NEAR_REPEAT).fit(data)
    # planted: every event has Poisson(0.25) children, of which some fall outside the commune
    # or after the end: the share of offspring among the events is the contagion share
    planted_share = float(ev.offspring[used].sum() / used.sum())
    assert 0.18 < planted_share < 0.21
    assert model.theta_ > 0.1
    assert abs(model.theta_ - planted_share) < 0.08
    # the planted near-repeats are 150 m (uniform in a disk: sigma 75 m) and 1-7 days away
    assert 50.0 < model.sigma_ < 150.0
    assert 2.0 < 1.0 / model.omega_ < 8.0
    # the model tells the near-repeats from the rest
    events = data.events
    order = np.flatnonzero(used)  # data.events keeps the simulation's order
    assert len(order) == len(events)
    offspring = ev.offspring[order]
    p0 = model.p_background_
    assert p0[offspring].mean() < p0[~offspring].mean() - 0.15


def test_no_contagion_without_the_near_repeats(six_months: Simulation) -> None:
    ev = six_months.events
    data, _ = _weekly(six_months, ~ev.offspring)
    assert SeppGrid(**NEAR_REPEAT).fit(data).theta_ < 0.03


def test_no_contagion_when_times_are_shuffled(six_months: Simulation) -> None:
    ev = six_months.events
    data, _ = _weekly(six_months, np.ones(len(ev.t), bool), shuffle_seed=1)
    assert SeppGrid(**NEAR_REPEAT).fit(data).theta_ < 0.03


# -- the emerging hot spot -------------------------------------------------------------------


def _percentile_of(risk: np.ndarray, cells: np.ndarray) -> float:
    """Best rank of ``cells`` in the ranking by ``risk``, as a percentage of the cells."""
    order = np.argsort(-risk, kind="stable")
    rank = np.empty(risk.size, dtype=np.int64)
    rank[order] = np.arange(risk.size)
    return float(rank[cells].min() / risk.size * 100.0)


def test_emerging_hot_spot_rises_before_it_peaks() -> None:
    sim = _simulation(24)
    item: PlacedItem = next(it for it in sim.items if it.spec.kind == EMERGING)
    categories = [CATEGORY_INDEX[c] for c in item.spec.categories]
    data, _ = _weekly(sim, np.isin(sim.events.category, categories))
    monday = sim.start - timedelta(days=sim.start.weekday())
    onset = ((sim.start - monday).days + item.window[0]) // 7
    centre = h3.int_to_str(int(item.h3_res9[0]))
    spot = np.searchsorted(data.cells, [h3.str_to_int(c) for c in h3.grid_disk(centre, 1)])
    assert onset == 87 and data.n_periods == 104

    def ours(origin: int) -> float:
        return _percentile_of(make_method(RECOMMENDED).fit(data.until(origin)).predict(), spot)

    def kde(origin: int) -> float:
        return _percentile_of(KernelDensity(300.0).fit(data.until(origin)).predict(), spot)

    before, six_weeks, end = ours(onset - 1), ours(onset + 6), ours(data.n_periods)
    assert before > 5.0  # not among the top 5 % of the cells the week before it starts
    assert six_weeks < 2.0  # in the top 2 % six weeks after the onset
    assert end < 2.0  # and still there at the end of the data
    assert six_weeks < kde(onset + 6) / 2  # much sooner than a retrospective density map
    # six weeks in, a map of the past 52 weeks has seen a third of what it will show at the end
    counts = data.counts[spot].sum(axis=0)
    at_six = counts[onset + 6 - 52 : onset + 6].sum()
    at_end = counts[data.n_periods - 52 :].sum()
    assert at_six < 0.6 * at_end
