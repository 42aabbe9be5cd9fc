"""Forecasting any city from files: a points file (CSV or GeoJSON) and a study-area polygon.

Nothing here reads the platform's database: an analyst of another city, or of Marseille with
data not yet ingested, gives the incidents as points with a time, and optionally the outline of
the study area (without one, the buffered convex hull of the points is used, as in the New York
benchmark). The backtest compares the chosen methods on the data's last periods; the forecast of
the period after the data is written as GeoJSON hexagons, ready for QGIS.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

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


#: the command-line options that name each column (said in the error messages)
OPTIONS = {"time": "--time-column", "x": "--x-column", "y": "--y-column"}
#: suffixes read as delimited text (plain or gzip-compressed)
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
#: what the points file may be, said when it is not
POINT_FORMATS = "CSV ou TSV (éventuellement .gz), GeoJSON, GeoPackage ou shapefile"


def _pick(columns: list[str], wanted: tuple[str, ...], given: str | None, what: str) -> str:
    option = OPTIONS[what]
    if given is not None:
        if given not in columns:
            raise InvalidInput(
                f"colonne « {given} » absente (option {option}) ; colonnes du fichier : "
                f"{', '.join(columns)}"
            )
        return given
    lower = {c.lower(): c for c in columns}
    for name in wanted:
        if name in lower:
            return lower[name]
    label = {"time": "date ou heure", "x": "longitude (x)", "y": "latitude (y)"}[what]
    raise InvalidInput(
        f"aucune colonne de {label} reconnue ({', '.join(wanted)}) ; colonnes du fichier : "
        f"{', '.join(columns)} ; précisez-la avec l'option {option} NOM"
    )


def _text_kind(path: Path) -> tuple[bool, Literal["gzip"] | None]:
    """Whether ``path`` is delimited text, and its compression (``"gzip"`` or ``None``).

    Examples
    --------
    >>> _text_kind(Path("vols.csv.gz")), _text_kind(Path("vols.TSV")), _text_kind(Path("a.gpkg"))
    ((True, 'gzip'), (True, None), (False, None))
    """
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if suffixes and suffixes[-1] == ".gz":
        return (len(suffixes) == 2 and suffixes[0] in TEXT_SUFFIXES), "gzip"
    return (bool(suffixes) and suffixes[-1] in TEXT_SUFFIXES), None


def _read_text(path: Path, compression: Literal["gzip"] | None) -> pd.DataFrame:
    opener = gzip.open if compression == "gzip" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            sample = handle.read(64_000)
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"fichier de points illisible ({path.name}) : texte UTF-8 attendu "
            f"({type(exc).__name__})"
        ) from None
    try:
        sep = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        sep = "\t" if path.name.lower().removesuffix(".gz").endswith(".tsv") else ","
    try:
        return pd.read_csv(path, sep=sep, encoding="utf-8-sig", dtype=str, compression=compression)
    except (ValueError, pd.errors.ParserError) as exc:
        raise InvalidInput(f"fichier de points illisible ({path.name}) : {exc}") from None


def _read_spatial(path: Path, role: str, formats: str) -> gpd.GeoDataFrame:
    """A file GDAL reads, with a geometry column, in WGS84; a French error otherwise."""
    if path.suffix.lower() == ".gz":
        raise InvalidInput(
            f"{role} {path.name} : fichier compressé non lu ; décompressez-le "
            f"(formats acceptés : {formats})"
        )
    try:
        frame = gpd.read_file(path)
    except Exception:  # GDAL's own message is in English and about its drivers
        raise InvalidInput(
            f"{role} {path.name} illisible : format non reconnu (formats acceptés : {formats})"
        ) from None
    if not isinstance(frame, gpd.GeoDataFrame) or "geometry" not in frame.columns:
        raise InvalidInput(
            f"{role} {path.name} sans géométrie : ce n'est pas un fichier géographique "
            f"(formats acceptés : {formats})"
        )
    if frame.crs is not None:
        frame = frame.to_crs(4326)
    return frame


def read_points(
    path: Path,
    *,
    time_column: str | None = None,
    x_column: str | None = None,
    y_column: str | None = None,
) -> pd.DataFrame:
    """``lon``, ``lat`` (WGS84) and ``time`` of the points of a CSV, TSV or GeoJSON file.

    CSV or TSV, plain or ``.gz``: the separator is detected (comma, semicolon, tab),
    coordinates are WGS84 columns (``x_column`` / ``y_column``, or the first of
    :data:`LON_NAMES` / :data:`LAT_NAMES`). GeoJSON (or any file GDAL reads with point
    geometries, in any CRS): positions from the geometries. The time column is ``time_column``
    or the first recognised name (:data:`TIME_NAMES`). Rows without a usable time or position
    are kept with NaN/NaT (the forecast counts and drops them).
    """
    if not path.is_file():
        raise InvalidInput(f"fichier introuvable : {path}")
    is_text, compression = _text_kind(path)
    if is_text:
        raw = _read_text(path, compression)
        columns = list(raw.columns)
        lon = pd.to_numeric(raw[_pick(columns, LON_NAMES, x_column, "x")], errors="coerce")
        lat = pd.to_numeric(raw[_pick(columns, LAT_NAMES, y_column, "y")], errors="coerce")
    else:
        frame = _read_spatial(path, "fichier de points", POINT_FORMATS)
        points = frame.geometry.geom_type == "Point"
        if not points.any():
            raise InvalidInput(f"{path.name} ne contient aucun point")
        raw = pd.DataFrame(frame.drop(columns="geometry"))
        columns = list(raw.columns)
        lon = pd.Series(np.where(points, frame.geometry.x.where(points), np.nan), index=raw.index)
        lat = pd.Series(np.where(points, frame.geometry.y.where(points), np.nan), index=raw.index)
    times = pd.to_datetime(
        raw[_pick(columns, TIME_NAMES, time_column, "time")], errors="coerce", utc=True
    )
    return pd.DataFrame({"lon": lon.to_numpy(float), "lat": lat.to_numpy(float), "time": times})


def read_area(path: Path) -> Polygon | MultiPolygon:
    """The union of the polygons of a GeoJSON / GeoPackage / shapefile, in WGS84."""
    if not path.is_file():
        raise InvalidInput(f"fichier introuvable : {path}")
    frame = _read_spatial(path, "zone d'étude", "GeoJSON, GeoPackage ou shapefile de polygones")
    polygons = frame[frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polygons.empty:
        raise InvalidInput(f"{path.name} ne contient aucun polygone")
    area = polygons.geometry.make_valid().union_all()
    if not isinstance(area, Polygon | MultiPolygon):
        area = MultiPolygon([g for g in getattr(area, "geoms", []) if isinstance(g, Polygon)])
    return area


#: why points are left out of a forecast, in French (keys of ``PointsForecast.dropped_by``)
DROP_REASONS = {
    "no_time": "sans date lisible",
    "no_position": "sans position lisible",
    "outside": "hors de la zone d'étude",
    "partial_period": "dans la dernière période, incomplète",
}


@dataclass(frozen=True)
class PointsForecast:
    """What :func:`forecast_points` produced."""

    data: ForecastData
    result: BacktestResult
    coverage_png: Path
    forecast_geojson: Path
    method: str
    dropped_by: dict[str, int]

    @property
    def dropped(self) -> int:
        """Every point of the file left out, whatever the reason."""
        return sum(self.dropped_by.values())


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
    stage: Callable[[str], None] | None = None,
) -> PointsForecast:
    """Backtest ``methods`` over the last ``n_origins`` periods, then forecast the next one.

    Writes ``courbes_de_couverture.png`` and ``prevision.geojson`` (one hexagon per cell of the
    study area: ``h3``, ``expected``, ``rank``, ``top_share`` in % of the cells) to ``out_dir``.
    ``progress(method, done, total)`` follows the backtest; ``stage(name)`` is called as each
    stage starts: ``"prepare"``, ``"backtest"``, ``"fit"`` (the forecast written), ``"write"``.
    """
    say = stage or (lambda _name: None)
    period_days = period_length(period)
    check_methods((*methods, method))
    say("prepare")
    no_time = points["time"].isna()
    no_position = ~no_time & (points["lon"].isna() | points["lat"].isna())
    usable = points.loc[~no_time & ~no_position]
    if usable.empty:
        raise InvalidInput("aucun point n'a à la fois une position et une date lisibles")
    study = area if area is not None else convex_hull_area(usable)
    try:
        whole = forecast_data_from_points(
            usable, study, resolution=resolution, period_days=period_days
        )
    except ValueError as exc:
        raise InvalidInput(f"aucune donnée exploitable dans la zone d'étude : {exc}") from exc
    data = complete_periods(whole, pd.Timestamp(usable["time"].max()))
    dropped_by = {
        "no_time": int(no_time.sum()),
        "no_position": int(no_position.sum()),
        "outside": int(whole.events.attrs.get("dropped", 0))
        + int(whole.events.attrs.get("dropped_time", 0)),
        "partial_period": len(whole.events) - len(data.events),
    }
    say("backtest")
    result, png = backtest_data(data, methods, n_origins, out_dir=out_dir, progress=progress)
    assert png is not None
    say("fit")
    expected = np.asarray(make_method(method).fit(data).predict(1), dtype=float)
    say("write")
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
        dropped_by=dropped_by,
    )
