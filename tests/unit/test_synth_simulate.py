"""The ground-truth events of :func:`simulate` are the ones :func:`generate` writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geotranquil.geography.reference import load_geography
from geotranquil.synth.generator import generate, simulate


def test_simulate_gives_the_generated_events(tmp_path: Path) -> None:
    geo = load_geography(None)
    manifest = generate(geo, tmp_path, months=2, scale=0.05, seed=7)
    sim = simulate(geo, months=2, scale=0.05, seed=7)
    ev = sim.events
    assert len(ev.t) == manifest.totals.events
    assert int(ev.offspring.sum()) == manifest.totals.offspring
    assert int(((ev.origin >= 0) & ~ev.offspring).sum()) == manifest.totals.planted
    for k, entry in enumerate(manifest.planted):
        assert int(((ev.origin == k) & ~ev.offspring).sum()) == entry.excess_events
        assert sim.items[k].spec.name == entry.name
    assert sim.start.isoformat() == manifest.start and sim.end.isoformat() == manifest.end
    assert np.all(np.diff(ev.t) >= 0)
