"""Forecasting any city from files: a points file (CSV or GeoJSON) and a study-area polygon.

Nothing here reads the platform's database: an analyst of another city, or of Marseille with
data not yet ingested, gives the incidents as points with a time, and optionally the outline of
the study area (without one, the buffered convex hull of the points is used, as in the New York
benchmark). The backtest compares the chosen methods on the data's last periods; the forecast of
the period after the data is written as GeoJSON hexagons, ready for QGIS.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import MultiPolygon, Polygon

from geotranquil.errors import InvalidInput
from geotranquil.forecast.backtest import BacktestResult
from geotranquil.forecast.base import ForecastData
from geotranquil.forecast.points import convex_hull_area, forecast_data_from_points
from geotranquil.forecast.registry import METHODS, RECOMMENDED, make_method
from geotranquil.grid.h3ids import cell_polygons
from geotranquil.services.forecasting import backtest_data, check_methods, period_length

#: column names recognised (lower case), in order of preference
TIME_NAMES = (
    "time",
    "datetime",
    "occurred_at",
    "date_single",
    "timestamp",
    "date_heure",
    "horodatage",
    "date",
)
LON_NAMES = ("lon", "longitude", "lng", "long", "x")
LAT_NAMES = ("lat", "latitude", "y")


def _pick(columns: list[str], wanted: tuple[str, ...], given: str | None, what: str) -> str:
    if given is not None:
        if given not in columns:
            raise InvalidInput(
                f"colonne « {given} » absente ; colonnes du fichier : {', '.join(columns)}"
            )
        return given
    lower = {c.lower(): c for c in columns}
    for name in wanted:
        if name in lower:
            return lower[name]
    raise InvalidInput(
        f"aucune colonne de {what} reconnue ({', '.join(wanted)}) ; colonnes du fichier : "
        f"{', '.join(columns)} (précisez-la avec l'option correspondante)"
    )


def read_points(path: Path, *, time_column: str | None = None) -> pd.DataFrame:
    """``lon``, ``lat`` (WGS84) and ``time`` of the points of a CSV or GeoJSON file.

    CSV: the separator is detected (comma, semicolon, tab), coordinates are WGS84 columns
    (``lon``/``longitude``/``x``, ``lat``/``latitude``/``y``). GeoJSON (or any file GDAL reads
    with point geometries, in any CRS): positions from the geometries. The time column is
    ``time_column`` or the first recognised name (:data:`TIME_NAMES`). Rows without a usable
    time or position are kept with NaN/NaT (the forecast counts and drops them).
    """
    if not path.is_file():
        raise InvalidInput(f"fichier introuvable : {path}")
    if path.suffix.lower() in (".csv", ".txt"):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            sample = handle.read(64_000)
        try:
            sep = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
        except csv.Error:
            sep = ","
        raw = pd.read_csv(path, sep=sep, encoding="utf-8-sig", dtype=str)
        columns = list(raw.columns)
        lon = pd.to_numeric(raw[_pick(columns, LON_NAMES, None, "longitude")], errors="coerce")
        lat = pd.to_numeric(raw[_pick(columns, LAT_NAMES, None, "latitude")], errors="coerce")
    else:
        try:
            frame = gpd.read_file(path)
        except Exception as exc:  # GDAL's message says what is wrong with the file
            raise InvalidInput(f"fichier de points illisible ({path.name}) : {exc}") from exc
        if frame.crs is not None:
            frame = frame.to_crs(4326)
        points = frame.geometry.geom_type == "Point"
        if not points.any():
            raise InvalidInput(f"{path.name} ne contient aucun point")
        raw = pd.DataFrame(frame.drop(columns="geometry"))
        columns = list(raw.columns)
        lon = pd.Series(np.where(points, frame.geometry.x.where(points), np.nan), index=raw.index)
        lat = pd.Series(np.where(points, frame.geometry.y.where(points), np.nan), index=raw.index)
    times = pd.to_datetime(
        raw[_pick(columns, TIME_NAMES, time_column, "date ou heure")], errors="coerce", utc=True
    )
    return pd.DataFrame({"lon": lon.to_numpy(float), "lat": lat.to_numpy(float), "time": times})


def read_area(path: Path) -> Polygon | MultiPolygon:
    """The union of the polygons of a GeoJSON / GeoPackage / shapefile, in WGS84."""
    if not path.is_file():
        raise InvalidInput(f"fichier introuvable : {path}")
    try:
        frame = gpd.read_file(path)
    except Exception as exc:
        raise InvalidInput(f"zone d'étude illisible ({path.name}) : {exc}") from exc
    if frame.crs is not None:
        frame = frame.to_crs(4326)
    polygons = frame[frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polygons.empty:
        raise InvalidInput(f"{path.name} ne contient aucun polygone")
    area = polygons.geometry.make_valid().union_all()
    if not isinstance(area, Polygon | MultiPolygon):
        area = MultiPolygon([g for g in getattr(area, "geoms", []) if isinstance(g, Polygon)])
    return area


@dataclass(frozen=True)
class PointsForecast:
    """What :func:`forecast_points` produced."""

    data: ForecastData
    result: BacktestResult
    coverage_png: Path
    forecast_geojson: Path
    method: str
    dropped: int


def complete_periods(data: ForecastData, last: pd.Timestamp) -> ForecastData:
    """Cut the last period when the data stop before its end (a partial week)."""
    last_day = last.date()
    n = sum(p + timedelta(days=data.period_days - 1) <= last_day for p in data.periods)
    if n < 1:
        raise InvalidInput("moins d'une période complète de données")
    return data.until(n)


def forecast_points(
    points: pd.DataFrame,
    area: Polygon | MultiPolygon | None,
    out_dir: Path,
    *,
    resolution: int = 9,
    period: str = "week",
    methods: tuple[str, ...] = tuple(METHODS),
    method: str = RECOMMENDED,
    n_origins: int = 26,
    progress: Any = None,
) -> PointsForecast:
    """Backtest ``methods`` over the last ``n_origins`` periods, then forecast the next one.

    Writes ``courbes_de_couverture.png`` and ``prevision.geojson`` (one hexagon per cell of the
    study area: ``h3``, ``expected``, ``rank``, ``top_share`` in % of the cells) to ``out_dir``.
    """
    period_days = period_length(period)
    check_methods((*methods, method))
    usable = points.dropna(subset=["lon", "lat", "time"])
    if usable.empty:
        raise InvalidInput("aucun point n'a à la fois une position et une date lisibles")
    study = area if area is not None else convex_hull_area(usable)
    try:
        data = forecast_data_from_points(
            usable, study, resolution=resolution, period_days=period_days
        )
    except ValueError as exc:
        raise InvalidInput(f"aucune donnée exploitable dans la zone d'étude : {exc}") from exc
    inside = usable.loc[usable["time"].notna()]
    data = complete_periods(data, pd.Timestamp(inside["time"].max()))
    result, png = backtest_data(data, methods, n_origins, out_dir=out_dir, progress=progress)
    assert png is not None
    expected = np.asarray(make_method(method).fit(data).predict(1), dtype=float)
    order = np.argsort(-expected, kind="stable")
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(1, order.size + 1)
    hexes = [f"{int(c):x}" for c in data.cells]
    cells = gpd.GeoDataFrame(
        {
            "h3": hexes,
            "expected": expected,
            "rank": rank,
            "top_share": 100.0 * rank / order.size,
        },
        geometry=cell_polygons([int(c) for c in data.cells]),
        crs=4326,
    )
    geojson = out_dir / "prevision.geojson"
    cells.sort_values("rank").to_file(geojson, driver="GeoJSON")
    return PointsForecast(
        data=data,
        result=result,
        coverage_png=png,
        forecast_geojson=geojson,
        method=method,
        dropped=int(len(points) - len(usable)) + int(data.events.attrs.get("dropped", 0)),
    )
