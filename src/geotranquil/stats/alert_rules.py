"""What an alert rule tests, as pure functions: the one-sided Poisson test of a week's count,
the emerging hot-spot classes a rule looks for in its zone, and the period an alert belongs to.

The Poisson test (condition ``count_exceeds``). Let ``k`` be the zone's count of the week and
``c_1 .. c_N`` its counts of the ``N`` weeks before. Null hypothesis: the week's count is a
Poisson variable of mean ``lambda = (c_1 + .. + c_N) / N`` (the recent weeks predict it).
One-sided (only an *excess* alerts): ``p = P(X >= k | lambda)``, computed exactly as the
regularised lower incomplete gamma function ``P(k, lambda)`` (``p = 1`` for ``k = 0``; with
``lambda = 0``, ``p = 0`` as soon as ``k >= 1``: any event in a zone silent for N weeks
alerts). The rule fires when ``p < alpha``. No randomness is involved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy.special import gammainc

__all__ = [
    "CONDITIONS",
    "CONDITION_LABELS_FR",
    "HOTSPOT_CONDITIONS",
    "PoissonTest",
    "iso_week",
    "matching_cells",
    "poisson_exceedance",
]

#: condition -> the emerging hot-spot pattern it looks for (:mod:`geotranquil.stats.emerging`)
HOTSPOT_CONDITIONS: dict[str, str] = {
    "new_hotspot": "new_hot",
    "intensifying_hotspot": "intensifying_hot",
    "consecutive_hotspot": "consecutive_hot",
}
CONDITIONS: tuple[str, ...] = (*HOTSPOT_CONDITIONS, "forecast_top1", "count_exceeds")
CONDITION_LABELS_FR: dict[str, str] = {
    "new_hotspot": "un nouveau point chaud apparaît dans la zone",
    "intensifying_hotspot": "un point chaud s'intensifie dans la zone",
    "consecutive_hotspot": "un point chaud consécutif apparaît dans la zone",
    "forecast_top1": "la prévision place une cellule de la zone dans le 1 % le plus exposé "
    "de la ville",
    "count_exceeds": "le nombre de faits de la semaine dépasse ce que prévoient les semaines "
    "précédentes",
}


@dataclass(frozen=True)
class PoissonTest:
    """The outcome of :func:`poisson_exceedance`: the week's ``count``, the ``expected`` mean
    (lambda), the one-sided ``p_value``, the ``n_weeks`` and ``alpha`` used, and ``fires``."""

    count: int
    expected: float
    p_value: float
    n_weeks: int
    alpha: float

    @property
    def fires(self) -> bool:
        """Whether the week's count is significantly above the expected one (``p < alpha``)."""
        return self.p_value < self.alpha


def poisson_exceedance(count: int, history: Sequence[int], alpha: float = 0.01) -> PoissonTest:
    """Test whether ``count`` exceeds a Poisson mean equal to the mean of ``history``.

    Parameters
    ----------
    count : int
        The week's count (non-negative).
    history : sequence of int
        The counts of the previous weeks (at least one), oldest first; their mean is lambda.
    alpha : float
        Significance level: the rule fires when ``p < alpha``.

    Returns
    -------
    PoissonTest
        ``p_value = P(X >= count)`` for ``X ~ Poisson(mean(history))``, one-sided.

    Examples
    --------
    >>> t = poisson_exceedance(9, [2, 3, 1, 2, 3, 2, 1, 2], alpha=0.01)
    >>> t.expected, round(t.p_value, 6), t.fires
    (2.0, 0.000237, True)
    >>> poisson_exceedance(3, [2, 3, 1, 2]).fires
    False
    >>> poisson_exceedance(0, [0, 0]).p_value, poisson_exceedance(1, [0, 0]).p_value
    (1.0, 0.0)
    """
    if count < 0 or any(c < 0 for c in history):
        raise ValueError("counts must be non-negative")
    if not history:
        raise ValueError("at least one previous week is needed")
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie strictly between 0 and 1")
    lam = float(np.mean(np.asarray(history, dtype=np.float64)))
    if count == 0:
        p = 1.0
    elif lam == 0.0:
        p = 0.0
    else:
        p = float(gammainc(count, lam))  # P(X >= k) = P(k, lambda), regularised lower gamma
    return PoissonTest(int(count), lam, p, len(history), float(alpha))


def matching_cells(
    patterns: Mapping[int, str], zone_cells: Iterable[int], condition: str
) -> list[int]:
    """The cells of a zone whose emerging pattern is the one a hot-spot condition looks for.

    Parameters
    ----------
    patterns : mapping of int to str
        H3 cell id -> emerging pattern name (``'new_hot'``, ...) of a run.
    zone_cells : iterable of int
        The cells of the rule's zone.
    condition : str
        ``'new_hotspot'``, ``'intensifying_hotspot'`` or ``'consecutive_hotspot'``.

    Returns
    -------
    list of int
        The matching cells, sorted; empty when none (the rule does not fire).

    Examples
    --------
    >>> runs = {1: "new_hot", 2: "new_hot", 3: "persistent_hot", 4: "intensifying_hot"}
    >>> matching_cells(runs, [2, 3, 4, 5], "new_hotspot")
    [2]
    >>> matching_cells(runs, [1, 2, 3], "intensifying_hotspot")
    []
    """
    try:
        wanted = HOTSPOT_CONDITIONS[condition]
    except KeyError:
        raise ValueError(f"not a hot-spot condition: {condition!r}") from None
    return sorted(int(c) for c in set(zone_cells) if patterns.get(int(c)) == wanted)


def iso_week(day: date) -> str:
    """The ISO week of ``day``, the period of an alert (one per rule and condition).

    Examples
    --------
    >>> iso_week(date(2026, 6, 10)), iso_week(date(2027, 1, 1))
    ('2026-W24', '2026-W53')
    """
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
