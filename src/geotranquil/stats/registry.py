"""The hot-spot statistics a user may compute, by name: everything else is derived from here.

One :class:`Statistic` says what a statistic is called (its run kind), its French title, the
collection that serves its latest run, how to compute it and which per-cell outputs it
produces, with their French titles. From :data:`STATISTICS` come the run kinds the service
accepts, the OGC collections of runs, the command line's choices and help, the demo's loop and
the web map's layers. Adding a statistic is its module, one :func:`register` call (here for the
built-in ones) and its test.

Every statistic receives the run's per-cell, per-bin values and spatial weights
(:class:`StatisticInput`) and returns per-cell columns (:class:`StatisticResult`): the common
ones (:data:`COMMON_OUTPUTS`: ``z``, ``p``, ``p_sim``, ``significant``; the value it saw is
added by the service) and its own declared :attr:`Statistic.outputs`. Pure: no database here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from geotranquil.errors import InvalidInput
from geotranquil.stats.emerging import PATTERN_LABELS_FR, EmergingResult, emerging_hot_spots
from geotranquil.stats.getis_ord import GI_BIN_LABELS_FR, GetisOrdGiStar, gi_star
from geotranquil.stats.moran import LocalMoran, local_moran
from geotranquil.stats.weights import SpatialWeights

__all__ = [
    "COMMON_OUTPUTS",
    "DEFAULT_STATISTIC",
    "STATISTICS",
    "Output",
    "Statistic",
    "StatisticInput",
    "StatisticResult",
    "emerging_columns",
    "gi_star_columns",
    "local_moran_columns",
    "moran_permutations",
    "register",
    "served_outputs",
    "statistic",
]

OutputType = Literal["number", "integer", "string", "boolean"]
#: how the web map paints a statistic's layer (``None``: not on the map)
MapStyle = Literal["gi_bins", "patterns", "z"]


@dataclass(frozen=True)
class Output:
    """A per-cell output: its name (a served property), JSON type and French title.

    ``labels`` maps its codes to French labels, served beside it as ``label_name`` (titled
    ``label_title``).
    """

    name: str
    type: OutputType
    title: str
    labels: Mapping[Any, str] | None = None
    label_name: str | None = None
    label_title: str | None = None


#: the outputs every run has, in served order (``value``: what the statistic saw)
COMMON_OUTPUTS: tuple[Output, ...] = (
    Output("value", "number", "Valeur analysée (nombre ou taux)"),
    Output("z", "number", "Score z (Gi* ou Moran local)"),
    Output("p", "number", "Valeur p analytique"),
    Output("p_sim", "number", "Pseudo valeur p par permutations"),
    Output("significant", "boolean", "Significatif (après FDR si demandé)"),
)
_RESERVED = {
    "run_id",
    "h3",
    "hex_id",
    "resolution",
    "population",
    "arrondissement_code",
    "quartier_code",
    "fid",
    "geom",
}


@dataclass(frozen=True)
class StatisticInput:
    """What a statistic sees: ``values`` per cell and time bin, the cells' weights, options."""

    values: npt.NDArray[np.float64]
    weights: SpatialWeights
    permutations: int = 0
    seed: int = 42
    fdr: bool = True
    time_lags: int = 1

    @property
    def total(self) -> npt.NDArray[np.float64]:
        """Each cell's value summed over the bins."""
        return np.asarray(self.values.sum(axis=1), dtype=np.float64)


@dataclass(frozen=True)
class StatisticResult:
    """Per-cell columns (common and own outputs) and the count of cells per French class."""

    columns: Mapping[str, npt.ArrayLike | None]
    classes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Statistic:
    """One statistic: run kind, French title, collection, computation, outputs, map style."""

    name: str
    title: str
    collection: str
    compute: Callable[[StatisticInput], StatisticResult]
    outputs: tuple[Output, ...] = ()
    help: str = ""  # a few French words for the command line
    map_label: str | None = None  # the map's layer name (the title when None)
    map_style: MapStyle | None = None
    space_time: bool = False  # its result depends on the time bins (the map follows the bin)

    @property
    def served_outputs(self) -> tuple[Output, ...]:
        """Common then own outputs, each label column after its code (served order)."""
        return served_outputs((*COMMON_OUTPUTS, *self.outputs))

    def run(self, data: StatisticInput) -> StatisticResult:
        """Compute, and check that only declared outputs of the right length come back.

        A column given as None (an output this run did not produce) is left out.
        """
        return self.checked(self.compute(data), data.values.shape[0])

    def checked(self, result: StatisticResult, n: int) -> StatisticResult:
        """``result`` without its None columns, after checking its outputs (declared, one
        value per cell of the ``n``); for results computed elsewhere too (a Dask cluster)."""
        columns: dict[str, npt.ArrayLike] = {
            k: v for k, v in result.columns.items() if v is not None
        }
        known = {o.name for o in (*COMMON_OUTPUTS, *self.outputs)}
        unknown = sorted(set(columns) - known)
        if unknown:
            raise ValueError(f"{self.name}: undeclared outputs {unknown}")
        for name, column in columns.items():
            if np.ndim(column) != 1 or len(np.asarray(column)) != n:
                raise ValueError(f"{self.name}: output {name} has not one value per cell")
        return StatisticResult(columns, result.classes)


def served_outputs(outputs: tuple[Output, ...]) -> tuple[Output, ...]:
    """``outputs`` as served: each one with labels followed by its label column.

    Examples
    --------
    >>> [o.name for o in served_outputs(STATISTICS["gi_star"].outputs)]
    ['gi_bin', 'gi_label']
    """
    out: list[Output] = []
    for o in outputs:
        out.append(o)
        if o.labels is not None and o.label_name:
            out.append(Output(o.label_name, "string", o.label_title or o.title))
    return tuple(out)


#: every statistic, by run kind, in the order the map and the command line show them
STATISTICS: dict[str, Statistic] = {}
#: the statistic computed when none is chosen
DEFAULT_STATISTIC = "gi_star"


def register(stat: Statistic) -> Statistic:
    """Add ``stat`` to :data:`STATISTICS` after checking its names; return it.

    Examples
    --------
    >>> "gi_star" in STATISTICS and STATISTICS["gi_star"].collection
    'hotspots'
    """
    if not stat.name.isidentifier() or not stat.name.isascii() or stat.name != stat.name.lower():
        raise ValueError(f"statistic name {stat.name!r}: lowercase ASCII identifier")
    if stat.name in STATISTICS:
        raise ValueError(f"statistic {stat.name!r} already registered")
    taken = {s.collection for s in STATISTICS.values()}
    if stat.collection in taken or stat.collection.startswith(("run-", "forecast")):
        raise ValueError(f"collection {stat.collection!r} already taken")
    names = [o.name for o in stat.served_outputs]
    clash = sorted({n for n in names if names.count(n) > 1} | (set(names) & _RESERVED))
    bad = [n for n in names if not n.isidentifier() or not n.isascii() or n != n.lower()]
    if clash or bad:
        raise ValueError(f"statistic {stat.name!r}: output names {clash or bad} not usable")
    STATISTICS[stat.name] = stat
    return stat


def statistic(name: str) -> Statistic:
    """The statistic ``name``; InvalidInput (in French) when there is none.

    Examples
    --------
    >>> statistic("emerging").title
    'Points chauds émergents'
    """
    found = STATISTICS.get(name)
    if found is None:
        raise InvalidInput(f"statistique « {name} » inconnue : {', '.join(STATISTICS)}")
    return found


# --- the built-in statistics -------------------------------------------------------------------


def gi_star_columns(g: GetisOrdGiStar) -> StatisticResult:
    """The per-cell columns and classes of a Gi* result (wherever it was computed)."""
    return StatisticResult(
        {
            "z": g.z,
            "p": g.p_norm,
            "p_sim": g.p_sim,
            "significant": g.gi_bin != 0,
            "gi_bin": g.gi_bin,
        },
        {GI_BIN_LABELS_FR[b]: int((g.gi_bin == b).sum()) for b in range(3, -4, -1)},
    )


def moran_permutations(data: StatisticInput) -> int:
    """Permutations of a Local Moran run: LISA needs some (999 when none are asked)."""
    return data.permutations or 999


def local_moran_columns(m: LocalMoran) -> StatisticResult:
    """The per-cell columns and classes of a Local Moran result."""
    names, counts = np.unique(m.cluster, return_counts=True)
    return StatisticResult(
        {
            "z": m.z_sim,
            "p": m.p_norm,
            "p_sim": m.p_sim,
            "significant": m.cluster != "Not significant",
            "cluster": m.cluster,
        },
        {str(k): int(v) for k, v in zip(names, counts, strict=True)},
    )


def emerging_columns(e: EmergingResult) -> StatisticResult:
    """The per-cell columns and classes of an emerging hot spot result."""
    return StatisticResult(
        {
            "z": e.z[:, -1],
            "p": e.p[:, -1],
            "significant": e.significant[:, -1] != 0,
            "pattern": e.pattern,
            "trend_z": e.trend_z,
            "trend_p": e.trend_p,
            "hot_bins": e.n_hot,
            "cold_bins": e.n_cold,
        },
        {k: v for k, v in e.counts().items() if v},
    )


def _gi_star(data: StatisticInput) -> StatisticResult:
    return gi_star_columns(
        gi_star(
            data.total, data.weights, permutations=data.permutations, seed=data.seed, fdr=data.fdr
        )
    )


def _local_moran(data: StatisticInput) -> StatisticResult:
    m = local_moran(
        data.total,
        data.weights,
        permutations=moran_permutations(data),
        seed=data.seed,
        fdr=data.fdr,
    )
    return local_moran_columns(m)


def _emerging(data: StatisticInput) -> StatisticResult:
    return emerging_columns(
        emerging_hot_spots(data.values, data.weights, time_lags=data.time_lags, fdr=data.fdr)
    )


register(
    Statistic(
        name="gi_star",
        title="Points chauds (Gi*)",
        collection="hotspots",
        compute=_gi_star,
        outputs=(
            Output(
                "gi_bin",
                "integer",
                "Classe de confiance Gi* (-3 à 3)",
                labels=GI_BIN_LABELS_FR,
                label_name="gi_label",
                label_title="Classe de confiance",
            ),
        ),
        help="points chauds",
        map_style="gi_bins",
    )
)
register(
    Statistic(
        name="emerging",
        title="Points chauds émergents",
        collection="emerging",
        compute=_emerging,
        outputs=(
            Output(
                "pattern",
                "string",
                "Tendance émergente (code)",
                labels=PATTERN_LABELS_FR,
                label_name="pattern_label",
                label_title="Tendance émergente",
            ),
            Output("trend_z", "number", "Score z de tendance (Mann-Kendall)"),
            Output("trend_p", "number", "Valeur p de tendance"),
            Output("hot_bins", "integer", "Périodes chaudes"),
            Output("cold_bins", "integer", "Périodes froides"),
        ),
        help="tendances : points chauds nouveaux, persistants, en diminution...",
        map_label="Tendances émergentes",
        map_style="patterns",
        space_time=True,
    )
)
register(
    Statistic(
        name="local_moran",
        title="Agrégats (Moran local)",
        collection="clusters",
        compute=_local_moran,
        outputs=(Output("cluster", "string", "Agrégat Moran local (HH, LL, HL, LH, ns)"),),
        help="agrégats",
    )
)
