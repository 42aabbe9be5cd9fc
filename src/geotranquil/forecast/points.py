"""From raw points (lon, lat, time) to :class:`ForecastData` on any city's H3 grid (pure).

The study area is a WGS84 polygon: an official outline, or, for data that come without one,
the buffered convex hull of the points themselves (:func:`convex_hull_area`). Its grid is every
H3 cell whose centre lies inside it; centroids and event positions are projected to a metric
CRS (the one given, or the UTM zone of the area's centroid), so nothing here assumes Marseille.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import h3
import numpy as np
import pandas as pd
from pyproj import Transformer
from shapely import MultiPoint, MultiPolygon, Polygon, transform

from geotranquil.forecast.base import ForecastData
from geotranquil.grid.h3ids import cells_from_points

__all__ = ["convex_hull_area", "forecast_data_from_points", "utm_epsg"]


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS84 UTM zone holding ``(lon, lat)``.

    Examples
    --------
    >>> utm_epsg(5.37, 43.30), utm_epsg(-73.95, 40.70), utm_epsg(151.2, -33.9)
    (32631, 32618, 32756)
    """
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def _to_metric(crs: int) -> Transformer:
    return Transformer.from_crs(4326, crs, always_xy=True)


def _utc_naive(values: pd.Series) -> pd.Series:
    """Datetimes as naive UTC (tz-aware ones converted; naive ones taken as UTC)."""
    times = pd.to_datetime(values, errors="coerce")
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    return times


def convex_hull_area(points: pd.DataFrame, buffer_m: float = 200.0) -> Polygon:
    """Study area for data without an outline: the points' convex hull, buffered in metres.

    The hull is buffered in the UTM zone of the points' mean position and returned in WGS84.

    Parameters
    ----------
    points : DataFrame
        Columns ``lon`` and ``lat`` (WGS84); rows with a missing coordinate are ignored.
    buffer_m : float
        Buffer around the hull, in metres.

    Examples
    --------
    >>> pts = pd.DataFrame({"lon": [2.30, 2.40, 2.35], "lat": [48.80, 48.80, 48.90]})
    >>> area = convex_hull_area(pts, buffer_m=100)
    >>> area.contains(MultiPoint(list(zip(pts.lon, pts.lat))))
    True
    >>> round(area.bounds[0], 3) < 2.30 < 2.40 < round(area.bounds[2], 3)
    True
    """
    ok = points[["lon", "lat"]].dropna()
    if ok.empty:
        raise ValueError("no point with coordinates")
    lon, lat = ok["lon"].to_numpy(float), ok["lat"].to_numpy(float)
    crs = utm_epsg(float(lon.mean()), float(lat.mean()))
    fwd = _to_metric(crs)
    back = Transformer.from_crs(crs, 4326, always_xy=True)
    x, y = fwd.transform(lon, lat)
    hull = MultiPoint(np.column_stack([x, y])).convex_hull.buffer(buffer_m)
    out = transform(hull, lambda xy: np.column_stack(back.transform(xy[:, 0], xy[:, 1])))
    if not isinstance(out, Polygon):  # pragma: no cover - a buffered hull is one polygon
        raise ValueError("the buffered hull is not a polygon")
    return out


def _study_cells(area: Polygon | MultiPolygon, resolution: int) -> np.ndarray:
    """Sorted int64 ids of the cells whose centre lies in ``area``."""
    cells = h3.geo_to_cells(area, resolution)
    return np.unique(np.array([h3.str_to_int(c) for c in cells], dtype=np.int64))


def forecast_data_from_points(
    points: pd.DataFrame,
    area: Polygon | MultiPolygon,
    *,
    resolution: int = 9,
    period_days: int = 7,
    start: date | None = None,
    metric_crs: int | None = None,
) -> ForecastData:
    """Counts per H3 cell and period, and the projected events, of points in a study area.

    Parameters
    ----------
    points : DataFrame
        Columns ``lon``, ``lat`` (WGS84) and ``time`` (datetimes; tz-aware ones are converted
        to UTC, naive ones are taken as UTC).
    area : Polygon or MultiPolygon
        Study area in WGS84. Its cells are every H3 cell at ``resolution`` whose centre lies
        inside it (cells with no event included).
    resolution : int
        H3 resolution of the grid.
    period_days : int
        Length of a period: 7 for weeks, 1 for days.
    start : date, optional
        Start of the first period. Default: the Monday on or before the first point for weekly
        periods, the first point's day otherwise. Points before ``start`` are dropped.
    metric_crs : int, optional
        EPSG code of the metric CRS for ``x``/``y``; default the UTM zone of the area's centroid.

    Returns
    -------
    ForecastData
        Periods from ``start`` to the period holding the last point. ``events.attrs`` holds
        ``"dropped"`` (points outside the cells or without coordinates), ``"dropped_time"``
        (points without a time or before ``start``) and ``"crs"`` (the metric EPSG code).

    Examples
    --------
    >>> from shapely import box
    >>> area = box(5.36, 43.29, 5.39, 43.31)
    >>> pts = pd.DataFrame({
    ...     "lon": [5.3745, 5.3745, 5.3800, 6.0],
    ...     "lat": [43.2951, 43.2951, 43.3050, 43.0],
    ...     "time": pd.to_datetime(["2025-01-07 10:00", "2025-01-15 09:00",
    ...                             "2025-01-08 00:30", "2025-01-08 00:00"]),
    ... })
    >>> data = forecast_data_from_points(pts, area)
    >>> data.periods, data.counts.sum(axis=0).tolist(), data.events.attrs["dropped"]
    ([datetime.date(2025, 1, 6), datetime.date(2025, 1, 13)], [2, 1], 1)
    >>> data.events.attrs["crs"]
    32631
    """
    if period_days < 1:
        raise ValueError("period_days must be >= 1")
    cells = _study_cells(area, resolution)
    if cells.size == 0:
        raise ValueError(f"no H3 cell of resolution {resolution} has its centre in the area")
    crs = metric_crs
    if crs is None:
        centre = area.centroid
        crs = utm_epsg(centre.x, centre.y)
    fwd = _to_metric(crs)

    latlng = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells], dtype=float)
    cx, cy = fwd.transform(latlng[:, 1], latlng[:, 0])

    times = _utc_naive(points["time"]) if len(points) else pd.Series([], dtype="datetime64[ns]")
    lon = points["lon"].to_numpy(dtype=float)
    lat = points["lat"].to_numpy(dtype=float)
    ids = cells_from_points(lon, lat, resolution)
    pos = np.searchsorted(cells, ids)
    pos_c = np.minimum(pos, cells.size - 1)
    inside = (ids != 0) & (cells[pos_c] == ids)
    has_time = times.notna().to_numpy()

    if start is None:
        valid = times[has_time & inside]
        if valid.empty:
            raise ValueError("no point with a time inside the study area")
        first = valid.min().date()
        start = first - timedelta(days=first.weekday()) if period_days == 7 else first
    origin = pd.Timestamp(datetime.combine(start, datetime.min.time()))
    t_days = (pd.to_datetime(times) - origin).dt.total_seconds().to_numpy(dtype=float) / 86400.0
    in_time = has_time & (np.nan_to_num(t_days, nan=-1.0) >= 0)

    keep = inside & in_time
    dropped = int((~inside).sum())
    dropped_time = int((inside & ~in_time).sum())

    t_keep = t_days[keep]
    cell_keep = pos_c[keep].astype(np.int64)
    period = np.floor(t_keep / period_days).astype(np.int64)
    n_periods = int(period.max()) + 1 if period.size else 1
    counts = np.zeros((cells.size, n_periods), dtype=np.int64)
    np.add.at(counts, (cell_keep, period), 1)

    ex, ey = fwd.transform(lon[keep], lat[keep])
    events = pd.DataFrame(
        {
            "t": t_keep,
            "x": np.asarray(ex, dtype=float),
            "y": np.asarray(ey, dtype=float),
            "cell": cell_keep,
        }
    )
    events = events.sort_values("t", kind="stable").reset_index(drop=True)
    events.attrs["dropped"] = dropped
    events.attrs["dropped_time"] = dropped_time
    events.attrs["crs"] = int(crs)
    periods = [start + timedelta(days=period_days * k) for k in range(n_periods)]
    return ForecastData(
        cells=cells,
        x=np.asarray(cx, dtype=np.float64),
        y=np.asarray(cy, dtype=np.float64),
        counts=counts,
        periods=periods,
        period_days=period_days,
        events=events,
    )
