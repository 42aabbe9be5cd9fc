"""Forecast pictures: coverage curves of the backtest, and the map of the next period."""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from geotranquil.charts.overview import QUALITATIVE

#: top-share class (%) -> colour, darkest for the most exposed (ColorBrewer Reds)
TOP_CLASS_COLOURS = {1: "#99000d", 5: "#ef3b2c", 10: "#fc9272", 20: "#fee0d2"}


def coverage_figure(
    curves: Mapping[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]], title: str
) -> Figure:
    """Hit rate against the share of the area flagged, one line per method (French labels).

    Examples
    --------
    >>> shares = np.linspace(0, 1, 11)
    >>> fig = coverage_figure({"naïf": (shares, np.sqrt(shares))}, "Test")
    >>> fig.axes[0].get_xlabel()
    'part de la zone signalée'
    """
    fig = Figure(figsize=(8, 6), dpi=110, layout="constrained")
    ax = fig.subplots()
    for i, (name, (shares, hits)) in enumerate(curves.items()):
        ax.plot(shares, hits, label=name, color=QUALITATIVE[i % len(QUALITATIVE)], linewidth=1.8)
    ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1, label="au hasard")
    ax.set_xlim(0, 0.3)
    ax.set_ylim(0, 1)
    ax.set_xlabel("part de la zone signalée")
    ax.set_ylabel("part des événements capturés (taux de réussite)")
    for share in (0.01, 0.05, 0.10, 0.20):
        ax.axvline(share, color="#dddddd", linewidth=0.8, zorder=0)
    ax.legend(frameon=False, loc="lower right")
    ax.set_title(title)
    return fig


def forecast_map(cells: gpd.GeoDataFrame, outlines: gpd.GeoDataFrame, title: str) -> Figure:
    """Hexagons of the top 1 / 5 / 10 / 20 % of the area (``top_class``) over area outlines."""
    fig = Figure(figsize=(10, 9), dpi=110)
    ax = fig.subplots()
    ax.set_title(title, fontsize=12)
    ax.set_axis_off()
    metric = cells.to_crs(2154)
    metric.plot(ax=ax, color="#f2f2f2", linewidth=0)
    for top, colour in sorted(TOP_CLASS_COLOURS.items(), reverse=True):
        part = metric[metric["top_class"] == top]
        if len(part):
            part.plot(ax=ax, color=colour, linewidth=0, label=f"les {top} % les plus exposés")
    outlines.to_crs(2154).boundary.plot(ax=ax, color="#333333", linewidth=0.6)
    ax.legend(
        handles=[
            Patch(color=c, label=f"les {t} % de la zone les plus exposés")
            for t, c in sorted(TOP_CLASS_COLOURS.items())
        ],
        loc="lower left",
        frameon=False,
    )
    return fig
