"""The study area in Lambert-93: land mask, arrondissements, and coordinate conversions."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from shapely import MultiPolygon
from shapely.geometry.base import BaseGeometry

from geotranquil.errors import InvalidInput
from geotranquil.geography.reference import Geography, as_multipolygon

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Points are kept this far (metres) inside the land, so that rounding never pushes one out.
INNER_MARGIN_M = 2.0

_TO_L93 = Transformer.from_crs(4326, 2154, always_xy=True)
_TO_WGS84 = Transformer.from_crs(2154, 4326, always_xy=True)


def to_l93(lon: FloatArray | float, lat: FloatArray | float) -> tuple[FloatArray, FloatArray]:
    """WGS84 longitude/latitude to Lambert-93 (EPSG:2154) metres.

    Examples
    --------
    >>> x, y = to_l93(5.3745, 43.2951)
    >>> round(float(x)), round(float(y))
    (892776, 6246891)
    """
    x, y = _TO_L93.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def to_wgs84(x: FloatArray | float, y: FloatArray | float) -> tuple[FloatArray, FloatArray]:
    """Lambert-93 metres to WGS84 longitude/latitude."""
    lon, lat = _TO_WGS84.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def geom_to_l93(geom: BaseGeometry) -> BaseGeometry:
    """Reproject a WGS84 shapely geometry to Lambert-93."""
    return shapely.transform(geom, lambda c: np.column_stack(_TO_L93.transform(c[:, 0], c[:, 1])))


def geom_to_wgs84(geom: BaseGeometry) -> BaseGeometry:
    """Reproject a Lambert-93 shapely geometry to WGS84."""
    return shapely.transform(geom, lambda c: np.column_stack(_TO_WGS84.transform(c[:, 0], c[:, 1])))


@dataclass
class StudyArea:
    """The commune and its arrondissements in Lambert-93, ready for vectorised point tests.

    ``land`` is the commune clipped to the union of the arrondissements, so that every point of
    the land has an arrondissement; ``inner`` is the land shrunk by :data:`INNER_MARGIN_M`.
    A wider study area (:mod:`geotranquil.synth.metropole`) has other communes among its
    units: ``unit_centres`` (Lambert-93, NaN for an arrondissement of the city) and
    ``unit_communes`` (the commune of each unit) are then set, else None.
    """

    geography: Geography
    land: MultiPolygon
    inner: BaseGeometry
    commune_l93: BaseGeometry
    arr_codes: tuple[str, ...]
    arr_postcodes: tuple[str, ...]
    arr_names: tuple[str, ...]
    arr_population: FloatArray
    arr_geoms: tuple[BaseGeometry, ...]
    _arr_bounds: FloatArray = field(repr=False)
    unit_centres: FloatArray | None = None
    unit_communes: tuple[str, ...] | None = None

    @classmethod
    def from_geography(cls, geography: Geography) -> StudyArea:
        """Project the geography and prepare its geometries."""
        arr = geography.arrondissements.sort_values("code").reset_index(drop=True)
        if len(arr) == 0:
            raise InvalidInput("la géographie ne contient aucun arrondissement")
        commune_l93 = geom_to_l93(geography.commune)
        arr_geoms = tuple(geom_to_l93(g) for g in arr.geometry)
        land = as_multipolygon(shapely.intersection(commune_l93, shapely.union_all(arr_geoms)))
        inner = land.buffer(-INNER_MARGIN_M)
        for g in (inner, commune_l93, *arr_geoms):
            shapely.prepare(g)
        pops = arr["population"].astype("Float64").fillna(0).to_numpy(dtype=float)
        if pops.sum() <= 0:  # no population known: spread by area
            pops = np.array([g.area for g in arr_geoms], dtype=float)
        postcodes = tuple(
            str(p) if isinstance(p, str) and p else f"130{str(c)[-2:]}"
            for p, c in zip(arr["postcode"], arr["code"], strict=True)
        )
        centres: FloatArray | None = None
        communes: tuple[str, ...] | None = None
        if "centre_lon" in arr.columns and "commune" in arr.columns:
            lon = arr["centre_lon"].astype(float).to_numpy()
            lat = arr["centre_lat"].astype(float).to_numpy()
            cx, cy = to_l93(np.nan_to_num(lon), np.nan_to_num(lat))
            missing = np.isnan(lon) | np.isnan(lat)
            centres = np.column_stack(
                [np.where(missing, np.nan, cx), np.where(missing, np.nan, cy)]
            )
            communes = tuple(str(c) for c in arr["commune"])
        return cls(
            unit_centres=centres,
            unit_communes=communes,
            geography=geography,
            land=land,
            inner=inner,
            commune_l93=commune_l93,
            arr_codes=tuple(str(c) for c in arr["code"]),
            arr_postcodes=postcodes,
            arr_names=tuple(str(n) for n in arr["name"]),
            arr_population=pops,
            arr_geoms=arr_geoms,
            _arr_bounds=np.array([g.bounds for g in arr_geoms], dtype=float),
        )

    def inside(self, x: FloatArray, y: FloatArray) -> NDArray[np.bool_]:
        """Whether each point lies inside the (shrunk) land."""
        return np.asarray(shapely.contains_xy(self.inner, x, y), dtype=bool)

    def arrondissement_of(self, x: FloatArray, y: FloatArray) -> IntArray:
        """Index (into ``arr_codes``) of the arrondissement of each point; nearest one if none."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        out = np.full(x.shape, -1, dtype=np.int64)
        for i, geom in enumerate(self.arr_geoms):
            b = self._arr_bounds[i]
            todo = (out < 0) & (x >= b[0]) & (x <= b[2]) & (y >= b[1]) & (y <= b[3])
            if todo.any():
                idx = np.flatnonzero(todo)
                hit = shapely.contains_xy(geom, x[idx], y[idx])
                out[idx[hit]] = i
        missing = np.flatnonzero(out < 0)
        if missing.size:
            pts = shapely.points(x[missing], y[missing])
            dists = np.column_stack([shapely.distance(g, pts) for g in self.arr_geoms])
            out[missing] = np.argmin(dists, axis=1)
        return out

    def depth(self, x: float, y: float) -> float:
        """Distance (m) from a point to the commune's boundary, negative outside."""
        point = shapely.Point(x, y)
        d = float(self.commune_l93.boundary.distance(point))
        return d if self.commune_l93.contains(point) else -d
