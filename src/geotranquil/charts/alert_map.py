"""The small map of an alert e-mail: the zone's outline and the cells that made it fire."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure
from shapely.geometry import shape


def _draw(ax: Any, geometry: Any, **style: Any) -> None:
    polygons = getattr(geometry, "geoms", [geometry])
    for polygon in polygons:
        x, y = polygon.exterior.xy
        ax.fill(x, y, **style)


def alert_map_png(
    outline: dict[str, Any] | None, cells: Sequence[dict[str, Any]], title: str
) -> bytes:
    """A 480 x 360 PNG: ``outline`` (a GeoJSON (Multi)Polygon) in grey, ``cells`` (GeoJSON
    polygons) in red, ``title`` above.

    Examples
    --------
    >>> square = {"type": "Polygon", "coordinates": [[[5.3, 43.2], [5.4, 43.2], [5.4, 43.3],
    ...     [5.3, 43.3], [5.3, 43.2]]]}
    >>> alert_map_png(square, [square], "Zone").startswith(b"\\x89PNG")
    True
    """
    fig = Figure(figsize=(4.8, 3.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    if outline is not None:
        _draw(ax, shape(outline), facecolor="#f0f0f0", edgecolor="#555555", linewidth=1.0)
    for cell in cells:
        _draw(ax, shape(cell), facecolor="#d7301f", edgecolor="#67000d", linewidth=0.5, alpha=0.85)
    ax.set_aspect(1 / 0.73)  # cos(43.3°): metres about equal in x and y at Marseille
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
