"""A statistic the tests register themselves: a plain z-score of each cell's count.

Two of its outputs (``excess``, ``band``) have no column in ``hotspot_cells``; ``band`` has
French labels. The ``registered`` fixture adds it to the registry for one test and removes it
and its runs afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from scipy.stats import norm
from sqlalchemy import Engine, text

from geotranquil.stats.registry import (
    STATISTICS,
    Output,
    Statistic,
    StatisticInput,
    StatisticResult,
    register,
)

BANDS = {"high": "Élevé", "usual": "Habituel", "low": "Faible"}


def count_z(data: StatisticInput) -> StatisticResult:
    """z-score of each cell's count against all cells, with its excess and its band."""
    total = data.total
    excess = total - total.mean()
    z = excess / total.std()
    band = np.where(z >= 1.96, "high", np.where(z <= -1.96, "low", "usual"))
    p = 2 * norm.sf(np.abs(z))
    return StatisticResult(
        {"z": z, "p": p, "significant": np.abs(z) >= 1.96, "excess": excess, "band": band},
        {BANDS[b]: int((band == b).sum()) for b in BANDS},
    )


COUNT_Z = Statistic(
    name="count_z",
    title="Score z des nombres",
    collection="count-z",
    compute=count_z,
    outputs=(
        Output("excess", "number", "Écart à la moyenne des hexagones"),
        Output(
            "band",
            "string",
            "Classe (code)",
            labels=BANDS,
            label_name="band_label",
            label_title="Classe",
        ),
    ),
    help="score z des nombres",
    map_style="z",
)


@pytest.fixture
def registered(loaded_engine: Engine) -> Iterator[Statistic]:
    stat = register(COUNT_Z)
    try:
        yield stat
    finally:
        STATISTICS.pop(stat.name, None)
        with loaded_engine.begin() as conn:
            conn.execute(text("DELETE FROM hotspot_runs WHERE kind = 'count_z'"))
