"""The statistic registry: what is derived from it, and what it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from geotranquil.stats.getis_ord import GI_BIN_LABELS_FR
from geotranquil.stats.registry import (
    DEFAULT_STATISTIC,
    STATISTICS,
    Statistic,
    StatisticInput,
    StatisticResult,
)
from geotranquil.stats.weights import SpatialWeights

PALETTES = Path(__file__).resolve().parents[2] / "src/geotranquil/web/static/palettes.json"


def test_built_in_statistics_and_their_collections() -> None:
    assert DEFAULT_STATISTIC in STATISTICS
    # in the order /collections has always listed them
    assert [(s.name, s.collection) for s in STATISTICS.values()] == [
        ("gi_star", "hotspots"),
        ("emerging", "emerging"),
        ("local_moran", "clusters"),
    ]
    assert [o.name for o in STATISTICS["gi_star"].served_outputs] == [
        *("value", "z", "p", "p_sim", "significant", "gi_bin", "gi_label"),
    ]
    assert [o.name for o in STATISTICS["emerging"].served_outputs][5:] == [
        *("pattern", "pattern_label", "trend_z", "trend_p", "hot_bins", "cold_bins"),
    ]


def test_one_wording_of_the_gi_star_confidence_bins() -> None:
    doc = json.loads(PALETTES.read_text("utf-8"))
    assert {b["bin"]: b["label"] for b in doc["gi_bins"]} == GI_BIN_LABELS_FR
    assert GI_BIN_LABELS_FR[3] == "Point chaud — 99 %"
    gi = STATISTICS["gi_star"].outputs[0]
    assert gi.labels is GI_BIN_LABELS_FR


def _input(n: int = 7) -> StatisticInput:
    cells = np.arange(n, dtype=np.int64)
    weights = SpatialWeights.from_distance_band(cells.astype(float), np.zeros(n), 1.5)
    return StatisticInput(values=np.arange(2 * n, dtype=float).reshape(n, 2), weights=weights)


def test_a_statistic_may_only_return_declared_outputs_one_per_cell() -> None:
    sneaky = Statistic("sneaky", "x", "x", lambda d: StatisticResult({"secret": d.total}))
    with pytest.raises(ValueError, match="undeclared outputs \\['secret'\\]"):
        sneaky.run(_input())
    short = Statistic("short", "x", "x", lambda d: StatisticResult({"z": d.total[:-1]}))
    with pytest.raises(ValueError, match="one value per cell"):
        short.run(_input())
    ok = Statistic("ok", "x", "x", lambda d: StatisticResult({"z": d.total, "p_sim": None}))
    assert list(ok.run(_input()).columns) == ["z"]  # None: not produced by this run


def test_gi_star_through_the_registry_gives_the_classes_in_french() -> None:
    result = STATISTICS["gi_star"].run(_input())
    assert set(result.columns) == {"z", "p", "significant", "gi_bin"}  # no permutations
    assert list(result.classes) == [GI_BIN_LABELS_FR[b] for b in range(3, -4, -1)]
    assert sum(result.classes.values()) == 7
