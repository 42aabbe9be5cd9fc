"""The forecasting methods a user may choose, by name (baselines kept available next to ours)."""

from __future__ import annotations

from collections.abc import Callable

from geotranquil.errors import InvalidInput
from geotranquil.forecast.base import Forecaster
from geotranquil.forecast.baselines import (
    KernelDensity,
    NaiveRecent,
    NaiveYear,
    ProspectiveHotspot,
)
from geotranquil.forecast.boosting import BoostedForecaster
from geotranquil.forecast.sepp import SeppGrid

#: name -> (French description, factory of a fresh, unfitted instance)
METHODS: dict[str, tuple[str, Callable[[], Forecaster]]] = {
    "naive": ("moyenne des 4 dernières semaines", lambda: NaiveRecent(4, name="naive")),
    "naive_year": ("mêmes semaines un an plus tôt", lambda: NaiveYear()),
    "kde": ("densité de noyau quartique, 300 m", lambda: KernelDensity(300.0)),
    "prospective": (
        "points chauds prospectifs (Bowers, Johnson et Pease), 400 m, 8 semaines",
        lambda: ProspectiveHotspot(400.0, 8, name="prospective"),
    ),
    "sepp": ("processus auto-excitant sur la grille (Mohler)", lambda: SeppGrid()),
    "gbm": (
        "gradient boosting sur indicateurs spatio-temporels (le nôtre)",
        lambda: BoostedForecaster(),
    ),
}


def make_method(name: str) -> Forecaster:
    """A fresh instance of the method ``name``.

    Examples
    --------
    >>> make_method("prospective").name
    'prospective'
    """
    if name not in METHODS:
        raise InvalidInput(f"méthode « {name} » inconnue ; méthodes : {', '.join(METHODS)}")
    return METHODS[name][1]()
