"""The one-sided Poisson test of ``count_exceeds``: exact p-values, against scipy's Poisson
survival function (computed here independently of the module's incomplete gamma)."""

from __future__ import annotations

import pytest
from scipy.stats import poisson

from geotranquil.stats.alert_rules import iso_week, matching_cells, poisson_exceedance


@pytest.mark.parametrize(
    ("count", "history"),
    [
        (14, [2] * 8),
        (9, [2, 3, 1, 2, 3, 2, 1, 2]),
        (3, [2, 3, 1, 2]),
        (1, [0, 0, 1]),
        (250, [180] * 12),
    ],
)
def test_the_p_value_is_the_poisson_upper_tail(count: int, history: list[int]) -> None:
    lam = sum(history) / len(history)
    test = poisson_exceedance(count, history, alpha=0.01)
    assert test.expected == pytest.approx(lam, rel=1e-15)
    assert test.p_value == pytest.approx(poisson.sf(count - 1, lam), rel=1e-10)
    assert test.fires == (poisson.sf(count - 1, lam) < 0.01)
    assert test.n_weeks == len(history)


def test_edges() -> None:
    assert poisson_exceedance(0, [5, 5]).p_value == 1.0
    assert poisson_exceedance(1, [0] * 8).p_value == 0.0
    with pytest.raises(ValueError):
        poisson_exceedance(3, [])
    with pytest.raises(ValueError):
        poisson_exceedance(3, [1], alpha=1.5)
    assert matching_cells({1: "consecutive_hot"}, [1], "consecutive_hotspot") == [1]
    assert iso_week(__import__("datetime").date(2026, 6, 8)) == "2026-W24"
