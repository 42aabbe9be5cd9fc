"""Rolling-origin backtest: every method refitted at every origin on the past only (pure).

At each origin ``t`` a *fresh* instance of each method is fitted on ``data.until(t)`` (periods
``[0, t)``; nothing later is visible), asked for the expected events of periods
``[t, t + horizon)``, and scored against what happened there with
:func:`geotranquil.forecast.metrics.score_table` (hit rate, PAI and PEI at 1, 5, 10 and 20 % of
the area) and :func:`~geotranquil.forecast.metrics.poisson_deviance`. Fit and predict times are
recorded with the scores, so one table says how good and how costly each method is.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from geotranquil.forecast import metrics
from geotranquil.forecast.base import FloatArray, ForecastData, Forecaster

__all__ = [
    "BacktestPlan",
    "BacktestResult",
    "OriginScore",
    "assemble",
    "origins_of",
    "plan_backtest",
    "rolling_origin",
    "score_origin",
]

#: columns of :attr:`BacktestResult.scores`
SCORE_COLUMNS = ("method", "origin", "period_start", "metric", "value")

MethodSpec = Forecaster | Callable[[], Forecaster]


def origins_of(
    n_periods: int,
    *,
    first_origin: int,
    n_origins: int | None = None,
    horizon: int = 1,
    step: int = 1,
) -> list[int]:
    """Forecast origins: ``first_origin``, every ``step`` periods, while ``t + horizon <= T``.

    Examples
    --------
    >>> origins_of(10, first_origin=6)
    [6, 7, 8, 9]
    >>> origins_of(10, first_origin=2, step=3, horizon=2)
    [2, 5, 8]
    >>> origins_of(10, first_origin=2, n_origins=2)
    [2, 3]
    """
    if first_origin < 1:
        raise ValueError("first_origin must be >= 1 (a forecast needs some past)")
    if horizon < 1 or step < 1:
        raise ValueError("horizon and step must be >= 1")
    out = list(range(first_origin, n_periods - horizon + 1, step))
    return out if n_origins is None else out[:n_origins]


def _factory(spec: MethodSpec) -> Callable[[], Forecaster]:
    """A callable returning a fresh, unfitted forecaster for each origin."""
    if isinstance(spec, type):
        return cast(Callable[[], Forecaster], spec)
    if hasattr(spec, "fit") and hasattr(spec, "predict"):
        template = cast(Forecaster, copy.deepcopy(spec))
        return lambda: copy.deepcopy(template)
    if callable(spec):
        return cast(Callable[[], Forecaster], spec)
    raise TypeError(f"not a forecaster nor a factory of forecasters: {spec!r}")


@dataclass
class BacktestResult:
    """Scores of every method at every origin, in long form, and their coverage curves.

    Attributes
    ----------
    scores : DataFrame
        One row per (method, origin, metric): ``method``, ``origin`` (period index),
        ``period_start`` (date of the first forecast period), ``metric`` (``hit_5``, ``pai_5``,
        ``pei_5``, ..., ``deviance``, ``fit_s``, ``predict_s``) and ``value``.
    curves : dict
        Method name -> list of ``(shares, hit rates)`` arrays, one per origin.
    methods : list of str
        Method names in the order given.
    """

    scores: pd.DataFrame
    curves: dict[str, list[tuple[FloatArray, FloatArray]]] = field(default_factory=dict)
    methods: list[str] = field(default_factory=list)

    @property
    def origins(self) -> list[int]:
        """Origins scored (period indexes), sorted."""
        return sorted(int(o) for o in self.scores["origin"].unique())

    def summary(self) -> pd.DataFrame:
        """One row per method: the mean of every metric over the origins, and ``n_origins``.

        Columns: ``hit_1 .. hit_20``, ``pai_1 .. pai_20``, ``pei_1 .. pei_20``, ``deviance``,
        ``fit_s``, ``predict_s`` (seconds per origin), ``n_origins``; indexed by method.
        """
        wide = self.scores.pivot_table(
            index="method", columns="metric", values="value", aggfunc="mean", sort=False
        )
        order = [m for m in _metric_order() if m in wide.columns]
        order += [m for m in wide.columns if m not in order]
        out = wide[order].reindex([m for m in self.methods if m in wide.index])
        n = self.scores.groupby("method")["origin"].nunique()
        out["n_origins"] = n.reindex(out.index).astype(int)
        out.columns.name = None
        return out

    def coverage(self, method: str) -> tuple[FloatArray, FloatArray]:
        """Mean coverage curve of ``method`` over the origins: (area shares, mean hit rates)."""
        curves = self.curves.get(method)
        if not curves:
            raise KeyError(f"no coverage curve for {method!r}")
        shares = np.asarray(curves[0][0], dtype=np.float64)
        stacked = np.stack([np.asarray(h, dtype=np.float64) for _, h in curves])
        with warnings.catch_warnings():  # origins without any event have NaN curves
            warnings.simplefilter("ignore", RuntimeWarning)
            hits = np.nanmean(stacked, axis=0)
        return shares, np.asarray(hits, dtype=np.float64)

    def format_table(self) -> str:
        """The summary as fixed-width text with French headers (shares of the area in %)."""
        summary = self.summary()
        pct = [round(100 * s) for s in metrics.AREA_SHARES]
        columns: list[tuple[str, str, str]] = [
            *[(f"hit_{p}", f"réussite {p} %", "{:.3f}") for p in pct],
            *[(f"pai_{p}", f"PAI {p} %", "{:.2f}") for p in pct],
            *[(f"pei_{p}", f"PEI {p} %", "{:.3f}") for p in pct],
            ("deviance", "déviance", "{:.4f}"),
            ("fit_s", "ajust. (s)", "{:.3f}"),
            ("predict_s", "prévis. (s)", "{:.3f}"),
            ("n_origins", "origines", "{:d}"),
        ]
        columns = [c for c in columns if c[0] in summary.columns]
        name_w = max([len("méthode"), *(len(str(m)) for m in summary.index)])
        widths = [max(len(head), 8) for _, head, _ in columns]
        lines = [
            " ".join(
                ["méthode".ljust(name_w)]
                + [head.rjust(w) for (_, head, _), w in zip(columns, widths, strict=True)]
            )
        ]
        for method, row in summary.iterrows():
            cells = []
            for (key, _, fmt), w in zip(columns, widths, strict=True):
                value = row[key]
                text = "—" if pd.isna(value) else fmt.format(_cast(fmt, value))
                cells.append(text.rjust(w))
            lines.append(" ".join([str(method).ljust(name_w), *cells]))
        lines.append(
            "réussite : part des événements dans les cellules les plus à risque couvrant x % "
            "de la surface ; PAI = réussite / part de surface ; PEI = réussite / réussite "
            "maximale possible ; temps par origine."
        )
        return "\n".join(lines)


def _cast(fmt: str, value: Any) -> Any:
    return int(value) if fmt.endswith("d}") else float(value)


def _metric_order() -> list[str]:
    pct = [round(100 * s) for s in metrics.AREA_SHARES]
    return [
        *[f"hit_{p}" for p in pct],
        *[f"pai_{p}" for p in pct],
        *[f"pei_{p}" for p in pct],
        "deviance",
        "fit_s",
        "predict_s",
    ]


def rolling_origin(
    data: ForecastData,
    methods: Sequence[MethodSpec],
    *,
    first_origin: int,
    n_origins: int | None = None,
    horizon: int = 1,
    step: int = 1,
    area: FloatArray | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> BacktestResult:
    """Backtest ``methods`` on ``data`` from rolling forecast origins.

    Parameters
    ----------
    data : ForecastData
        The whole series; each fit only sees ``data.until(origin)``.
    methods : sequence of Forecaster or callables returning one
        An instance is deep-copied (unfitted) at every origin; a class or a factory is called.
        Every origin gets a fresh instance. Names (``.name``) must be distinct.
    first_origin : int
        First origin (index of the first forecast period; periods before it are the past).
    n_origins : int, optional
        At most this many origins (default: all, i.e. while ``origin + horizon <= T``).
    horizon : int
        Periods forecast ahead, scored on their total.
    step : int
        Periods between origins.
    area : (n,) float, optional
        Cell areas for the area shares of the metrics (default: equal cells).
    progress : callable, optional
        Called as ``progress(method, i, n)`` after each fit and prediction (``i`` from 1).

    Returns
    -------
    BacktestResult

    Examples
    --------
    >>> from datetime import date, timedelta
    >>> class Fixed:
    ...     name = "fixed"
    ...     def fit(self, data): return self
    ...     def predict(self, horizon=1): return np.array([1.0, 0.5, 0.0, 0.0])
    >>> counts = np.tile([[2], [1], [0], [1]], 40)
    >>> data = ForecastData(np.arange(4), np.zeros(4), np.zeros(4), counts,
    ...                     [date(2024, 1, 1) + timedelta(7 * k) for k in range(40)], 7,
    ...                     pd.DataFrame({"t": [], "x": [], "y": [], "cell": []}))
    >>> res = rolling_origin(data, [Fixed()], first_origin=10)
    >>> res.origins[0], len(res.origins)
    (10, 30)
    >>> round(float(res.summary().loc["fixed", "pai_20"]), 3)  # top cell = 1/4 of the area
    2.0
    """
    plan = plan_backtest(
        data, methods, first_origin=first_origin, n_origins=n_origins, horizon=horizon, step=step
    )
    scores: list[OriginScore] = []
    for i, t in enumerate(plan.origins):
        for make in plan.factories:
            scores.append(score_origin(data, make, t, horizon=horizon, area=area))
            if progress is not None:
                progress(scores[-1].name, i + 1, len(plan.origins))
    return assemble(plan, scores)


@dataclass(frozen=True)
class BacktestPlan:
    """The independent units of a backtest: every origin times every method (by factory)."""

    origins: list[int]
    factories: list[Callable[[], Forecaster]]
    names: list[str]

    @property
    def units(self) -> list[tuple[int, int]]:
        """``(origin, method index)`` of every unit, in the order of the scores."""
        return [(t, k) for t in self.origins for k in range(len(self.factories))]


def plan_backtest(
    data: ForecastData,
    methods: Sequence[MethodSpec],
    *,
    first_origin: int,
    n_origins: int | None = None,
    horizon: int = 1,
    step: int = 1,
) -> BacktestPlan:
    """The origins, a factory per method and the methods' (distinct) names."""
    origins = origins_of(
        data.n_periods, first_origin=first_origin, n_origins=n_origins, horizon=horizon, step=step
    )
    if not origins:
        raise ValueError(
            f"no origin: first_origin={first_origin}, horizon={horizon}, T={data.n_periods}"
        )
    factories = [_factory(m) for m in methods]
    names: list[str] = []
    for make in factories:
        name = str(make().name)
        if name in names:
            raise ValueError(f"two methods named {name!r}")
        names.append(name)
    return BacktestPlan(origins, factories, names)


@dataclass(frozen=True)
class OriginScore:
    """One method fitted at one origin: its score rows and its coverage curve."""

    name: str
    origin: int
    rows: list[tuple[str, int, Any, str, float]]
    shares: FloatArray
    hits: FloatArray


def score_origin(
    data: ForecastData,
    make: Callable[[], Forecaster],
    origin: int,
    *,
    horizon: int = 1,
    area: FloatArray | None = None,
) -> OriginScore:
    """Fit a fresh method on the periods before ``origin``, forecast and score (one unit).

    Examples
    --------
    >>> from datetime import date, timedelta
    >>> class Fixed:
    ...     name = "fixed"
    ...     def fit(self, data): return self
    ...     def predict(self, horizon=1): return np.array([1.0, 0.5, 0.0, 0.0])
    >>> counts = np.tile([[2], [1], [0], [1]], 12)
    >>> data = ForecastData(np.arange(4), np.zeros(4), np.zeros(4), counts,
    ...                     [date(2024, 1, 1) + timedelta(7 * k) for k in range(12)], 7,
    ...                     pd.DataFrame({"t": [], "x": [], "y": [], "cell": []}))
    >>> unit = score_origin(data, Fixed, 10)
    >>> unit.name, unit.origin, [r[3] for r in unit.rows][-3:]
    ('fixed', 10, ['deviance', 'fit_s', 'predict_s'])
    """
    past = data.until(origin)
    actual = data.target(origin, horizon)
    start = data.periods[origin]
    model = make()
    name = str(model.name)
    t0 = time.perf_counter()
    fitted = model.fit(past)
    t1 = time.perf_counter()
    risk = np.asarray(fitted.predict(horizon), dtype=np.float64)
    t2 = time.perf_counter()
    if risk.shape != (data.n_cells,):
        raise ValueError(f"{name}: predicted shape {risk.shape}, not ({data.n_cells},)")
    rows: list[tuple[str, int, Any, str, float]] = []
    table = metrics.score_table(risk, actual, area=area)
    for metric, value in table.items():
        rows.append((name, origin, start, metric, float(value)))
    rows.append((name, origin, start, "deviance", float(metrics.poisson_deviance(risk, actual))))
    rows.append((name, origin, start, "fit_s", t1 - t0))
    rows.append((name, origin, start, "predict_s", t2 - t1))
    shares, hits = metrics.coverage_curve(risk, actual, area=area)
    return OriginScore(
        name,
        origin,
        rows,
        np.asarray(shares, dtype=np.float64),
        np.asarray(hits, dtype=np.float64),
    )


def assemble(plan: BacktestPlan, scores: Sequence[OriginScore]) -> BacktestResult:
    """The backtest result from the units' scores, given in the order of ``plan.units``."""
    rows: list[tuple[str, int, Any, str, float]] = []
    curves: dict[str, list[tuple[FloatArray, FloatArray]]] = {}
    for (t, k), unit in zip(plan.units, scores, strict=True):
        if unit.name != plan.names[k] or unit.origin != t:  # pragma: no cover - a bad factory
            raise ValueError(f"method {k} changed its name to {unit.name!r}")
        rows.extend(unit.rows)
        curves.setdefault(unit.name, []).append((unit.shares, unit.hits))
    scores_frame = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
    return BacktestResult(scores=scores_frame, curves=curves, methods=list(plan.names))
