"""The forecasting methods a user may choose, by name (baselines kept available next to ours).

:data:`RECOMMENDED` is the default of the service, the command line and the demo: the mean of
our multi-scale model and the self-exciting process (``ensemble``), the best of our models on
the New York benchmark at 1, 5 and 10 % of the area (``benchmarks/forecast_vs_baselines.py``;
its partner, SEPP, was chosen on a validation inside the training year).
"""

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
from geotranquil.forecast.boosting import BoostedForecaster, EnsembleForecaster
from geotranquil.forecast.sepp import SeppGrid
from geotranquil.forecast.stacking import MultiScaleForecaster

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
    "multiscale": (
        "régression de Poisson sur densités de noyau à plusieurs échelles (le nôtre)",
        lambda: MultiScaleForecaster(name="multiscale"),
    ),
    "ensemble": (
        "moyenne du modèle multi-échelles et du processus auto-excitant (le nôtre, recommandé)",
        lambda: EnsembleForecaster([MultiScaleForecaster(), SeppGrid()], name="ensemble"),
    ),
}

#: the method used when none is chosen
RECOMMENDED = "ensemble"


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
