"""Hot-spot pictures: Gi* confidence bins and emerging patterns on a map, a cell's series."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from geotranquil.stats.getis_ord import GI_BIN_LABELS_FR

#: Gi_Bin -> (colour, French label); diverging, colour-blind-safe (ColorBrewer RdBu).
GI_BIN_COLOURS: dict[int, str] = {
    3: "#b2182b",
    2: "#ef8a62",
    1: "#fddbc7",
    0: "#f0f0f0",
    -1: "#d1e5f0",
    -2: "#67a9cf",
    -3: "#2166ac",
}
GI_BIN_STYLE: dict[int, tuple[str, str]] = {
    b: (colour, GI_BIN_LABELS_FR[b]) for b, colour in GI_BIN_COLOURS.items()
}

#: Emerging pattern -> colour (hot patterns in reds/oranges, cold in blues).
PATTERN_COLOURS: dict[str, str] = {
    "new_hot": "#67000d",
    "consecutive_hot": "#a50f15",
    "intensifying_hot": "#d7301f",
    "persistent_hot": "#ef6548",
    "diminishing_hot": "#fc8d59",
    "sporadic_hot": "#fdbb84",
    "oscillating_hot": "#fdd49e",
    "historical_hot": "#fee8c8",
    "new_cold": "#08306b",
    "consecutive_cold": "#08519c",
    "intensifying_cold": "#2171b5",
    "persistent_cold": "#4292c6",
    "diminishing_cold": "#6baed6",
    "sporadic_cold": "#9ecae1",
    "oscillating_cold": "#c6dbef",
    "historical_cold": "#deebf7",
    "no_pattern": "#f0f0f0",
}


def _base(title: str) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(10, 9), dpi=110)
    ax = fig.subplots()
    ax.set_title(title, fontsize=12)
    ax.set_axis_off()
    return fig, ax


def gi_bin_map(cells: gpd.GeoDataFrame, outlines: gpd.GeoDataFrame, title: str) -> Figure:
    """Hexagons coloured by ``gi_bin`` (−3..+3) with a French legend, over area outlines."""
    fig, ax = _base(title)
    bins = cells["gi_bin"].fillna(0).astype(int).to_numpy()
    colours = [GI_BIN_STYLE[int(b)][0] for b in bins]
    cells.to_crs(2154).plot(ax=ax, color=colours, linewidth=0)
    outlines.to_crs(2154).boundary.plot(ax=ax, color="#333333", linewidth=0.6)
    present = sorted(set(bins.tolist()) | {0}, reverse=True)
    handles = [Patch(color=GI_BIN_STYLE[b][0], label=GI_BIN_STYLE[b][1]) for b in present]
    ax.legend(handles=handles, title="Gi* (après FDR)", loc="lower left")
    fig.tight_layout()
    return fig


def pattern_map(
    cells: gpd.GeoDataFrame, outlines: gpd.GeoDataFrame, labels: dict[str, str], title: str
) -> Figure:
    """Hexagons coloured by emerging pattern, legend with the French labels of those present."""
    fig, ax = _base(title)
    patterns = cells["pattern"].fillna("no_pattern").to_numpy()
    cells.to_crs(2154).plot(ax=ax, color=[PATTERN_COLOURS[p] for p in patterns], linewidth=0)
    outlines.to_crs(2154).boundary.plot(ax=ax, color="#333333", linewidth=0.6)
    present = [p for p in PATTERN_COLOURS if p in set(patterns.tolist())]
    counts = pd.Series(patterns).value_counts()
    handles = [
        Patch(color=PATTERN_COLOURS[p], label=f"{labels.get(p, p)} ({counts[p]})") for p in present
    ]
    ax.legend(handles=handles, title="Tendance", loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


def cell_series(bins: Sequence[object], counts: np.ndarray, title: str) -> Figure:
    """Bars of one cell's counts per time bin."""
    fig = Figure(figsize=(11, 4), dpi=110)
    ax = fig.subplots()
    ax.bar(range(len(counts)), counts, color="#b2182b")
    step = max(1, len(bins) // 12)
    ax.set_xticks(range(0, len(bins), step), [str(b) for b in list(bins)[::step]], rotation=45)
    ax.set_ylabel("événements")
    ax.set_title(title, fontsize=12)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
