"""Gi*, Local Moran and emerging hot spots computed by partition on a Dask cluster.

Each statistic is the same code as in one process (:mod:`geotranquil.stats`): its global
quantities are computed once here and broadcast, each task computes a partition's core cells
from the core and halo values (the cube's rows for emerging hot spots, all the bins), and the
driver merges the blocks in the cells' order and decides once over all the cells (false
discovery rate, classes). Workers receive their slice of the values: the counts are read from
PostGIS once, by the driver, as in one process.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from geotranquil.distributed.cluster import TaskProgress, run_tasks
from geotranquil.distributed.partition import Partition, block_rows, plan_partitions
from geotranquil.errors import InvalidInput
from geotranquil.stats.emerging import (
    EmergingBlock,
    EmergingResult,
    cube_globals,
    emerging_block,
    emerging_result,
    spatial_csr,
)
from geotranquil.stats.getis_ord import (
    GetisOrdGiStar,
    cell_values,
    gi_globals,
    gi_star_block,
    gi_star_result,
)
from geotranquil.stats.moran import (
    LocalMoran,
    local_moran_block,
    local_moran_result,
    moran_globals,
)
from geotranquil.stats.registry import (
    StatisticInput,
    StatisticResult,
    emerging_columns,
    gi_star_columns,
    local_moran_columns,
    moran_permutations,
    statistic,
)
from geotranquil.stats.weights import SpatialWeights

__all__ = [
    "DISTRIBUTED_STATISTICS",
    "emerging_on_cluster",
    "gi_star_on_cluster",
    "local_moran_on_cluster",
    "merge_blocks",
    "run_statistic",
]

FloatArray = npt.NDArray[np.float64]
B = TypeVar("B")


def merge_blocks(n: int, parts: Sequence[Partition], blocks: Sequence[B]) -> B:
    """One block of all ``n`` cells from the partitions' blocks (rows put at their cores).

    Examples
    --------
    >>> from geotranquil.stats.emerging import EmergingBlock
    >>> p0 = Partition(0, np.array([0, 2]), np.array([0, 2]), np.array([0, 1]))
    >>> p1 = Partition(1, np.array([1]), np.array([1]), np.array([0]))
    >>> col = lambda *v: np.array(v, dtype=float)
    >>> b0 = EmergingBlock(col([1], [3]), col(1, 3), col(1, 3), col(1, 3), col(1, 3))
    >>> b1 = EmergingBlock(col([2]), col(2), col(2), col(2), col(2))
    >>> merge_blocks(3, [p0, p1], [b0, b1]).trend_z.tolist()
    [1.0, 2.0, 3.0]
    """
    first = blocks[0]
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(first):  # type: ignore[arg-type]
        value = getattr(first, f.name)
        if value is None:
            fields[f.name] = None
            continue
        value = np.asarray(value)
        out = np.empty((n, *value.shape[1:]), dtype=value.dtype)
        for part, block in zip(parts, blocks, strict=True):
            out[part.core] = getattr(block, f.name)
        fields[f.name] = out
    return type(first)(**fields)


# --- tasks (run on the workers) ------------------------------------------------------------


def _vector_task(
    block: Callable[..., Any], payload: tuple[Any, ...], shared: tuple[Any, ...]
) -> Any:
    core, y_local, rows, core_local = payload
    g, permutations, seed, y_all = shared
    return block(
        y_local,
        rows,
        core_local,
        g,
        permutations=permutations,
        seed=seed,
        core_global=core,
        y_all=y_all,
    )


def _emerging_task(payload: tuple[Any, ...], shared: tuple[Any, ...]) -> EmergingBlock:
    x_local, rows = payload
    g, time_lags, trend_alpha = shared
    return emerging_block(x_local, rows, g, time_lags=time_lags, trend_alpha=trend_alpha)


def _vector_payloads(
    y: FloatArray, matrix: sp.csr_matrix, parts: Sequence[Partition]
) -> Iterator[tuple[Any, ...]]:
    for part in parts:
        yield part.core, y[part.local], block_rows(matrix, part), part.core_local


def _vector_blocks(
    client: Any,
    block: Callable[..., B],
    g: Any,
    y: FloatArray,
    matrix: sp.csr_matrix,
    cells: npt.ArrayLike,
    parent_resolution: int,
    permutations: int,
    seed: int | None,
    progress: TaskProgress | None,
) -> B:
    """``block`` (Gi* or Local Moran) of every cell of ``y``, by partition on ``client``."""
    parts = plan_partitions(cells, matrix, parent_resolution)
    task = functools.partial(_vector_task, block)
    shared = (g, permutations, seed, y if permutations > 0 else None)
    blocks = run_tasks(
        client, task, _vector_payloads(y, matrix, parts), shared, progress, len(parts)
    )
    return merge_blocks(g.n, parts, blocks)


# --- runners (on the driver) ---------------------------------------------------------------


def gi_star_on_cluster(
    client: Any,
    y: npt.ArrayLike,
    w: SpatialWeights,
    cells: npt.ArrayLike,
    parent_resolution: int,
    *,
    permutations: int = 0,
    seed: int | None = None,
    fdr: bool = True,
    inference: str = "norm",
    progress: TaskProgress | None = None,
) -> GetisOrdGiStar:
    """:func:`geotranquil.stats.getis_ord.gi_star` computed by H3 parent on ``client``."""
    if inference not in ("norm", "sim") or (inference == "sim" and permutations <= 0):
        raise ValueError("inference must be 'norm', or 'sim' with permutations > 0")
    yv = cell_values(y, w)
    ws = w.with_self().sparse
    g = gi_globals(yv, ws)
    block = _vector_blocks(
        client, gi_star_block, g, yv, ws, cells, parent_resolution, permutations, seed, progress
    )
    return gi_star_result(block, permutations=permutations, seed=seed, fdr=fdr, inference=inference)


def local_moran_on_cluster(
    client: Any,
    y: npt.ArrayLike,
    w: SpatialWeights,
    cells: npt.ArrayLike,
    parent_resolution: int,
    *,
    permutations: int = 999,
    seed: int | None = None,
    alpha: float = 0.05,
    fdr: bool = False,
    progress: TaskProgress | None = None,
) -> LocalMoran:
    """:func:`geotranquil.stats.moran.local_moran` computed by H3 parent on ``client``."""
    yv = cell_values(y, w)
    b = w.without_self().sparse
    g = moran_globals(yv, b)
    block = _vector_blocks(
        client, local_moran_block, g, yv, b, cells, parent_resolution, permutations, seed, progress
    )
    return local_moran_result(block, alpha=alpha, fdr=fdr, permutations=permutations, seed=seed)


def emerging_on_cluster(
    client: Any,
    cube: npt.ArrayLike,
    spatial: SpatialWeights | sp.csr_matrix,
    cells: npt.ArrayLike,
    parent_resolution: int,
    *,
    time_lags: int = 1,
    alpha: float = 0.05,
    fdr: bool = True,
    trend_alpha: float | None = None,
    progress: TaskProgress | None = None,
) -> EmergingResult:
    """:func:`geotranquil.stats.emerging.emerging_hot_spots` computed by H3 parent.

    Each task receives its cells' and halo's rows of the cube (all the bins) and returns the
    z-scores and trend tests of its cells; the significance of the bins (FDR over the whole
    cube) and the patterns are decided here, once.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be in (0, 1)")
    if time_lags < 0:
        raise ValueError("time_lags must be >= 0")
    t_alpha = alpha if trend_alpha is None else float(trend_alpha)
    x = np.asarray(cube, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"cube must be (n_cells, n_bins), got shape {x.shape}")
    a = spatial_csr(spatial)
    if a.shape[0] != x.shape[0]:
        raise ValueError(f"spatial weights are for {a.shape[0]} cells, the cube has {x.shape[0]}")
    if not np.isfinite(x).all():
        raise ValueError("cube must not contain NaN or infinite values")
    g = cube_globals(x)
    parts = plan_partitions(cells, a, parent_resolution)

    def payloads() -> Iterator[tuple[Any, ...]]:
        for part in parts:
            yield x[part.local], block_rows(a, part)

    blocks = run_tasks(
        client, _emerging_task, payloads(), (g, time_lags, t_alpha), progress, len(parts)
    )
    block = merge_blocks(x.shape[0], parts, blocks)
    del blocks
    return emerging_result(block, alpha=alpha, fdr=fdr, trend_alpha=t_alpha, time_lags=time_lags)


@dataclasses.dataclass(frozen=True)
class _ClusterRunner:
    """A registered statistic on a cluster: its ``*_on_cluster`` function, the options it takes
    from the run's input (as the registry's own computation), and the columns of its result."""

    on_cluster: Callable[..., Any]
    options: Callable[[StatisticInput], dict[str, Any]]
    columns: Callable[[Any], StatisticResult]
    space_time: bool = False  # takes the cube (per cell and bin), not the per-cell totals

    def __call__(
        self,
        client: Any,
        data: StatisticInput,
        cells: Any,
        res: int,
        progress: TaskProgress | None,
    ) -> StatisticResult:
        """The columns of the statistic of ``data`` computed on ``client`` by H3 parent ``res``."""
        values = data.values if self.space_time else data.total
        result = self.on_cluster(
            client, values, data.weights, cells, res, **self.options(data), progress=progress
        )
        return self.columns(result)


def _gi_star_options(data: StatisticInput) -> dict[str, Any]:
    return {"permutations": data.permutations, "seed": data.seed, "fdr": data.fdr}


def _local_moran_options(data: StatisticInput) -> dict[str, Any]:
    return {"permutations": moran_permutations(data), "seed": data.seed, "fdr": data.fdr}


def _emerging_options(data: StatisticInput) -> dict[str, Any]:
    return {"time_lags": data.time_lags, "fdr": data.fdr}


#: statistic name -> its runner on a cluster (the registry's options, the same columns)
DISTRIBUTED_STATISTICS = {
    "gi_star": _ClusterRunner(gi_star_on_cluster, _gi_star_options, gi_star_columns),
    "local_moran": _ClusterRunner(
        local_moran_on_cluster, _local_moran_options, local_moran_columns
    ),
    "emerging": _ClusterRunner(
        emerging_on_cluster, _emerging_options, emerging_columns, space_time=True
    ),
}


def run_statistic(
    name: str,
    data: StatisticInput,
    cells: npt.ArrayLike,
    client: Any,
    parent_resolution: int,
    progress: TaskProgress | None = None,
) -> StatisticResult:
    """The registered statistic ``name`` on a cluster: the columns of ``statistic(name).run``."""
    stat = statistic(name)
    runner = DISTRIBUTED_STATISTICS.get(name)
    if runner is None:
        raise InvalidInput(
            f"la statistique « {name} » ne se calcule pas sur un cluster Dask : "
            f"{', '.join(DISTRIBUTED_STATISTICS)}"
        )
    result = runner(client, data, cells, parent_resolution, progress)
    return stat.checked(result, data.values.shape[0])
