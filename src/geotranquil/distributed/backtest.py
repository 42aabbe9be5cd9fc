"""The rolling-origin backtest on a Dask cluster: one task per (origin, method) unit.

The data are sent once to every worker; each task fits a fresh method on the past of its
origin and scores it (:func:`geotranquil.forecast.backtest.score_origin`, the code of the
sequential run), and the driver assembles the units in the sequential order. Scores are those
of the sequential run; only the measured ``fit_s`` / ``predict_s`` differ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from geotranquil.distributed.cluster import run_tasks
from geotranquil.forecast.backtest import (
    BacktestResult,
    MethodSpec,
    OriginScore,
    assemble,
    plan_backtest,
    score_origin,
)
from geotranquil.forecast.base import FloatArray, ForecastData, Forecaster

__all__ = ["rolling_origin_on_cluster"]


def _unit_task(
    payload: tuple[Callable[[], Forecaster], int], shared: tuple[Any, ...]
) -> OriginScore:
    make, origin = payload
    data, horizon, area = shared
    return score_origin(data, make, origin, horizon=horizon, area=area)


def rolling_origin_on_cluster(
    client: Any,
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
    """:func:`geotranquil.forecast.backtest.rolling_origin` with its units run on ``client``.

    ``progress(method, done, total)`` is called as units finish (in any order).
    """
    plan = plan_backtest(
        data, methods, first_origin=first_origin, n_origins=n_origins, horizon=horizon, step=step
    )
    units = plan.units

    def payloads() -> Iterator[tuple[Callable[[], Forecaster], int]]:
        for t, k in units:
            yield plan.factories[k], t

    def tick(done: int, total: int) -> None:
        if progress is not None:
            progress("backtest", done, total)

    scores = run_tasks(client, _unit_task, payloads(), (data, horizon, area), tick, len(units))
    return assemble(plan, scores)
