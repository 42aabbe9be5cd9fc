"""Forecast pictures: coverage curves of the backtest, and the map of the next period."""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from geotranquil.charts.overview import QUALITATIVE
from geotranquil.forecast.backtest import BacktestResult

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


def backtest_coverage_figure(result: BacktestResult, title: str) -> Figure:
    """Mean coverage curves of a backtest, one line per method (see :func:`coverage_figure`).

    Parameters
    ----------
    result : BacktestResult
        A rolling-origin backtest; each method's curve is the mean over its origins
        (:meth:`BacktestResult.coverage`), in the order of ``result.methods``.
    title : str
        Title of the figure (French, like the labels).

    Returns
    -------
    matplotlib.figure.Figure
        Hit rate against the share of the area flagged (0 to 30 %), with the random line.

    Examples
    --------
    >>> from datetime import date, timedelta
    >>> import pandas as pd
    >>> from geotranquil.forecast.backtest import rolling_origin
    >>> from geotranquil.forecast.base import ForecastData
    >>> from geotranquil.forecast.baselines import NaiveRecent
    >>> counts = np.tile([[3], [1], [0], [0]], 12)
    >>> data = ForecastData(np.arange(4), np.zeros(4), np.zeros(4), counts,
    ...                     [date(2024, 1, 1) + timedelta(7 * k) for k in range(12)], 7,
    ...                     pd.DataFrame({"t": [], "x": [], "y": [], "cell": []}))
    >>> result = rolling_origin(data, [NaiveRecent(4)], first_origin=8)
    >>> fig = backtest_coverage_figure(result, "Backtest")
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['naive_recent', 'au hasard']
    >>> float(fig.axes[0].get_lines()[0].get_ydata()[25])  # top cell (25 % of the area): 3/4
    0.75
    >>> fig.axes[0].get_ylabel()
    'part des événements capturés (taux de réussite)'
    """
    return coverage_figure({m: result.coverage(m) for m in result.methods}, title)


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
