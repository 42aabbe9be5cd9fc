"""The overview pictures: events per hexagon on a map, and weekly counts per source."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

#: Sequential, colour-blind-safe palette (ColorBrewer YlOrRd), light to dark.
SEQUENTIAL = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"]
#: Qualitative, colour-blind-safe palette (Okabe-Ito).
QUALITATIVE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000"]


def class_breaks(values: np.ndarray, n: int = len(SEQUENTIAL)) -> list[float]:
    """Quantile class breaks of the positive values (at most ``n`` classes, distinct, rounded).

    Examples
    --------
    >>> class_breaks(np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 4)
    [1.0, 3.0, 5.0, 8.0, 10.0]
    """
    positive = values[values > 0]
    if positive.size == 0:
        return [1.0, 2.0]
    qs = np.quantile(positive, np.linspace(0, 1, n + 1), method="nearest")
    breaks = sorted({float(np.floor(q)) for q in qs[:-1]} | {float(positive.max())})
    return breaks if len(breaks) > 1 else [breaks[0], breaks[0] + 1]


def class_label(breaks: list[float], i: int) -> str:
    """French legend label of class ``i`` of integer counts.

    Examples
    --------
    >>> [class_label([1.0, 3.0, 6.0, 10.0], i) for i in range(3)]
    ['1 à 2', '3 à 5', '6 et plus']
    """
    low, high = breaks[i], breaks[i + 1]
    if i == len(breaks) - 2:
        return f"{low:g} et plus"
    return f"{low:g}" if high - 1 <= low else f"{low:g} à {high - 1:g}"


def hexagon_map(
    cells: gpd.GeoDataFrame, outlines: gpd.GeoDataFrame, title: str, value: str = "events"
) -> Figure:
    """Choropleth of ``cells[value]`` (hexagons, EPSG:4326) over area outlines; empty cells grey.

    Drawn in Lambert-93 so that hexagons keep their shape. Legend and labels in French.
    """
    cells = cells.to_crs(2154)
    outlines = outlines.to_crs(2154)
    fig = Figure(figsize=(10, 9), dpi=110)
    ax = fig.subplots()
    values = cells[value].to_numpy(dtype=float)
    breaks = class_breaks(values)
    colours = SEQUENTIAL[: len(breaks) - 1]
    norm = BoundaryNorm(breaks, len(colours))
    cmap = ListedColormap(colours)
    empty = cells[values <= 0]
    full = cells[values > 0]
    empty.plot(ax=ax, color="#eeeeee", linewidth=0)
    full.plot(ax=ax, column=value, cmap=cmap, norm=norm, linewidth=0)
    outlines.boundary.plot(ax=ax, color="#333333", linewidth=0.6)
    handles = [Patch(color=c, label=class_label(breaks, i)) for i, c in enumerate(colours)]
    handles.insert(0, Patch(color="#eeeeee", label="aucun"))
    ax.legend(handles=handles, title="événements par hexagone", loc="lower left", frameon=True)
    ax.set_title(title, fontsize=12)
    ax.set_axis_off()
    fig.tight_layout()
    return fig


def weekly_chart(weekly: pd.DataFrame, title: str) -> Figure:
    """Lines of weekly counts, one per column of ``weekly`` (index: week start)."""
    fig = Figure(figsize=(11, 4.5), dpi=110)
    ax = fig.subplots()
    for i, column in enumerate(weekly.columns):
        ax.plot(
            weekly.index,
            weekly[column],
            label=str(column),
            color=QUALITATIVE[i % len(QUALITATIVE)],
            linewidth=1.4,
        )
    ax.set_ylabel("événements par semaine")
    ax.set_title(title, fontsize=12)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=9, ncols=2)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
