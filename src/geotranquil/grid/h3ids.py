"""H3 cell ids as 64-bit integers: points to cells, parents by bit operations, hexagon polygons.

The same bit arithmetic is implemented in SQL (``h3_parent`` in the first migration) so that
counts at any coarser resolution are a ``GROUP BY`` on the fine id.
"""

from __future__ import annotations

from collections.abc import Iterable

import h3
import h3.api.basic_int as h3i
import numpy as np
import numpy.typing as npt
from shapely import MultiPolygon, Polygon

#: Resolution of the fine cell id stored with every event (about 300 m², 10 m edge).
FINE_RESOLUTION = 12
#: Resolutions of the grid and of the analyses; each has its own column on ``events``.
ANALYSIS_RESOLUTIONS: tuple[int, ...] = (7, 8, 9, 10)

_RES_SHIFT = np.int64(52)
_RES_MASK = np.int64(15) << _RES_SHIFT

IntArray = npt.NDArray[np.int64]


def cells_from_points(
    lon: npt.ArrayLike, lat: npt.ArrayLike, resolution: int = FINE_RESOLUTION
) -> IntArray:
    """H3 cell ids (int64) of WGS84 points; NaN coordinates give 0 (no cell).

    Examples
    --------
    >>> cells_from_points([5.3745], [43.2951], 9).tolist()
    [618003056062103551]
    """
    lons = np.asarray(lon, dtype=float)
    lats = np.asarray(lat, dtype=float)
    out = np.zeros(lons.shape[0], dtype=np.int64)
    to_cell = h3i.latlng_to_cell
    ok = ~(np.isnan(lons) | np.isnan(lats))
    idx = np.flatnonzero(ok)
    out[idx] = [
        to_cell(y, x, resolution)
        for x, y in zip(lons[idx].tolist(), lats[idx].tolist(), strict=True)
    ]
    return out


def resolution_of(cells: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Resolution of each cell id, read from bits 52-55.

    Examples
    --------
    >>> resolution_of([618003056062103551]).tolist()
    [9]
    """
    arr = np.asarray(cells, dtype=np.int64)
    return (arr >> _RES_SHIFT) & np.int64(15)


def parent_ids(cells: npt.ArrayLike, resolution: int) -> IntArray:
    """Parents at ``resolution`` of cells at a finer resolution, by bit operations.

    Zeros (no cell) stay zero. Matches ``h3.cell_to_parent``.

    Examples
    --------
    >>> import h3
    >>> fine = h3.str_to_int(h3.latlng_to_cell(43.2951, 5.3745, 12))
    >>> int(parent_ids([fine], 9)[0]) == h3.str_to_int(h3.latlng_to_cell(43.2951, 5.3745, 9))
    True
    """
    if not 0 <= resolution <= 15:
        raise ValueError(f"H3 resolution must be 0-15, got {resolution}")
    arr = np.asarray(cells, dtype=np.int64)
    if arr.size and int(resolution_of(arr[arr != 0]).min(initial=15)) < resolution:
        raise ValueError(f"some cells are coarser than resolution {resolution}")
    low_digits = np.int64((1 << (3 * (15 - resolution))) - 1)
    parents = (arr & ~_RES_MASK) | (np.int64(resolution) << _RES_SHIFT) | low_digits
    return np.where(arr == 0, np.int64(0), parents)


def cover(area: Polygon | MultiPolygon, resolution: int) -> IntArray:
    """Every cell whose hexagon overlaps ``area`` (WGS84), sorted.

    Examples
    --------
    >>> from shapely import box
    >>> len(cover(box(5.37, 43.29, 5.38, 43.30), 9)) > 0
    True
    """
    shape = h3.geo_to_h3shape(area)
    cells = h3.h3shape_to_cells_experimental(shape, resolution, contain="overlap")
    return np.unique(np.array([h3.str_to_int(c) for c in cells], dtype=np.int64))


def cell_polygon(cell: int) -> Polygon:
    """Hexagon (or pentagon) of a cell as a shapely Polygon in (lon, lat)."""
    boundary = h3i.cell_to_boundary(int(cell))
    return Polygon([(lng, lat) for lat, lng in boundary])


def cell_polygons(cells: Iterable[int]) -> list[Polygon]:
    """Polygons of many cells."""
    return [cell_polygon(c) for c in cells]
