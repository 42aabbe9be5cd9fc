"""Planners' polygons: check a GeoJSON Polygon or MultiPolygon and bring it to EPSG:4326.

A planner sends the outline of a neighbourhood (for a polygon report or a saved zone) in
EPSG:4326 (longitude, latitude, as GeoJSON orders them) or in Lambert-93 (EPSG:2154, metres).
:func:`parse_polygon` checks it step by step (structure, size, closed rings, coordinate ranges,
topological validity, area) and raises :class:`~geotranquil.errors.InvalidGeometry` with a French
message that says what is wrong and where, in the coordinates the planner sent. Nothing is
repaired silently except the winding order, which is set to RFC 7946's (exterior rings
counter-clockwise, holes clockwise). Areas are computed in Lambert-93, like every area in the
project, so a polygon must lie within Lambert-93's domain (mainland France and Corsica).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from numbers import Real
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import mapping
from shapely.geometry.polygon import orient

from geotranquil.errors import InvalidGeometry

__all__ = ["SUPPORTED_SRIDS", "area_km2", "parse_polygon", "to_geojson"]

SUPPORTED_SRIDS = (4326, 2154)

_ACCEPTED = ("Polygon", "MultiPolygon")
# Numbers in this box, sent as EPSG:4326, are almost surely Lambert-93 metres.
_L93_LIKE = (0.0, 6_000_000.0, 1_300_000.0, 7_200_000.0)  # xmin, ymin, xmax, ymax
_VALIDITY = re.compile(r"^(?P<reason>[^\[]*?)\s*\[(?P<x>[^\s\]]+)\s+(?P<y>[^\s\]]+)")
_NNBSP = "\u202f"  # French thousands separator

_Ring = npt.NDArray[np.float64]


# --------------------------------------------------------------------------- transformations


@cache
def _transformer(source: int, target: int) -> Transformer:
    """Cached ``always_xy`` transformer (pyproj transformers are thread-safe since 3.1)."""
    return Transformer.from_crs(source, target, always_xy=True)


@cache
def _domain(srid: int) -> tuple[float, float, float, float]:
    """Lambert-93's area of use as ``(xmin, ymin, xmax, ymax)`` in ``srid``'s coordinates."""
    area = CRS.from_epsg(2154).area_of_use
    assert area is not None  # EPSG:2154 has one
    bounds = area.bounds
    if srid == 4326:
        return bounds
    xmin, ymin, xmax, ymax = _transformer(4326, 2154).transform_bounds(*bounds, densify_pts=50)
    return float(xmin), float(ymin), float(xmax), float(ymax)


def _reproject(geom: shapely.MultiPolygon, source: int, target: int) -> shapely.MultiPolygon:
    """Reproject every vertex at once."""
    tr = _transformer(source, target)

    def apply(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    out = shapely.transform(geom, apply)
    assert isinstance(out, shapely.MultiPolygon)
    return out


def area_km2(geom: shapely.MultiPolygon | shapely.Polygon) -> float:
    """Area of an EPSG:4326 geometry, computed in Lambert-93 (EPSG:2154), in km².

    Parameters
    ----------
    geom
        A Polygon or MultiPolygon in EPSG:4326 (longitude, latitude).

    Returns
    -------
    float
        The area in square kilometres.

    Examples
    --------
    >>> from shapely import box
    >>> round(area_km2(box(5.37, 43.29, 5.38, 43.30)), 3)  # 0.01° × 0.01° at Marseille
    0.903
    """
    if isinstance(geom, shapely.Polygon):
        geom = shapely.MultiPolygon([geom])
    return float(_reproject(geom, 4326, 2154).area) / 1e6


# --------------------------------------------------------------------------- messages


def _fr_number(value: float, decimals: int = 0) -> str:
    """A number the French way: ``1 600,0``."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", _NNBSP).replace(".", ",")


def _fr_limit(value: float) -> str:
    """A limit the French way, without useless decimals: ``1 000``, ``0,25``."""
    if float(value).is_integer():
        return _fr_number(value)
    text = _fr_number(value, 3).rstrip("0")
    return text.rstrip(",")


def _raw(value: Any) -> str:
    """A number as the planner sent it (no rounding: the difference may be tiny)."""
    if isinstance(value, int | np.integer):
        return str(int(value))
    return repr(float(value))


def _coord(value: float, srid: int) -> str:
    """A computed coordinate: 6 decimals for degrees, 1 for metres, no trailing zeros."""
    text = f"{value:.{6 if srid == 4326 else 1}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _point(x: float, y: float, srid: int) -> str:
    return f"({_coord(x, srid)}, {_coord(y, srid)})"


def _show(value: Any) -> str:
    """A short representation of an unexpected value."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Names:
    """French names of the parts of the input and their JSON paths."""

    def __init__(self, multi: bool) -> None:
        self.multi = multi

    def polygon(self, i: int) -> str:
        """``le polygone n° 2`` (``le polygone`` for a Polygon)."""
        return f"le polygone n° {i + 1}" if self.multi else "le polygone"

    def of_polygon(self, i: int) -> str:
        """``du polygone n° 2``."""
        return f"du polygone n° {i + 1}" if self.multi else "du polygone"

    def ring(self, i: int, k: int) -> str:
        """``l'anneau extérieur du polygone n° 2`` or ``le trou n° 1 du polygone``."""
        name = "l'anneau extérieur" if k == 0 else f"le trou n° {k}"
        return f"{name} {self.of_polygon(i)}"

    def of_ring(self, i: int, k: int) -> str:
        """``de l'anneau extérieur du polygone`` or ``du trou n° 1 du polygone``."""
        name = "de l'anneau extérieur" if k == 0 else f"du trou n° {k}"
        return f"{name} {self.of_polygon(i)}"

    def path(self, *index: int) -> str:
        """``coordinates[0][2]``; the polygon index is left out for a Polygon."""
        parts = index if self.multi else index[1:]
        return "coordinates" + "".join(f"[{j}]" for j in parts)


# --------------------------------------------------------------------------- structure


def _only(count: int, noun: str) -> str:
    """``n'a qu'une position``, ``n'a que 3 positions``, ``n'a aucune position``."""
    feminine = noun == "position"
    if count == 0:
        return f"n'a {'aucune' if feminine else 'aucun'} {noun}"
    if count == 1:
        return f"n'a qu'{'une' if feminine else 'un'} {noun}"
    return f"n'a que {count} {noun}s"


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _is_number(value: Any) -> bool:
    return isinstance(value, Real | Decimal) and not isinstance(value, bool)


def _unwrap(obj: Any) -> tuple[str, Any]:
    """The geometry type and coordinates of a GeoJSON geometry or Feature."""
    if not isinstance(obj, Mapping):
        raise InvalidGeometry(
            f"la géométrie doit être un objet GeoJSON (un dictionnaire avec « type » et "
            f"« coordinates »), reçu : {type(obj).__name__}"
        )
    gtype = obj.get("type")
    if gtype == "Feature":
        if obj.get("geometry") is None:
            raise InvalidGeometry(
                "l'entité GeoJSON (Feature) n'a pas de géométrie : son membre « geometry » "
                "est absent ou vide"
            )
        obj = obj["geometry"]
        if not isinstance(obj, Mapping):
            raise InvalidGeometry(
                "le membre « geometry » de l'entité GeoJSON (Feature) doit être un objet "
                f"GeoJSON, reçu : {type(obj).__name__}"
            )
        gtype = obj.get("type")
    if gtype is None:
        raise InvalidGeometry(
            "l'objet GeoJSON n'a pas de membre « type » : attendu « Polygon » ou « MultiPolygon »"
        )
    if gtype not in _ACCEPTED:
        shown = gtype if isinstance(gtype, str) and len(gtype) <= 40 else _show(gtype)
        if isinstance(gtype, str) and gtype.lower() in ("polygon", "multipolygon"):
            right = "Polygon" if gtype.lower() == "polygon" else "MultiPolygon"
            raise InvalidGeometry(
                f"type de géométrie « {shown} » non reconnu : les types GeoJSON respectent "
                f"la casse, écrivez « {right} »"
            )
        if gtype == "FeatureCollection":
            raise InvalidGeometry(
                "une FeatureCollection n'est pas acceptée : envoyez une seule entité (Feature) "
                "ou une seule géométrie Polygon ou MultiPolygon"
            )
        raise InvalidGeometry(
            f"type de géométrie « {shown} » non accepté : seuls « Polygon » et "
            "« MultiPolygon » le sont"
        )
    if "coordinates" not in obj:
        raise InvalidGeometry(f"la géométrie {gtype} n'a pas de membre « coordinates »")
    return str(gtype), obj["coordinates"]


def _polygons(gtype: str, coords: Any, names: _Names) -> list[list[list[Any]]]:
    """The nesting down to the rings, checked: polygons → rings → positions (not yet read)."""
    depth = (
        "liste de polygones, chaque polygone une liste d'anneaux, chaque anneau une liste de "
        "positions [x, y]"
        if names.multi
        else "liste d'anneaux, chaque anneau une liste de positions [x, y]"
    )
    if not _is_list(coords):
        raise InvalidGeometry(
            f"« coordinates » doit être une {depth} ; reçu : {type(coords).__name__}"
        )
    if gtype == "MultiPolygon" and len(coords) == 0:
        raise InvalidGeometry("le MultiPolygon ne contient aucun polygone : la géométrie est vide")
    polys = list(coords) if names.multi else [coords]
    out: list[list[list[Any]]] = []
    for i, poly in enumerate(polys):
        if not _is_list(poly) or (len(poly) > 0 and not _is_list(poly[0])):
            raise InvalidGeometry(
                f"{names.polygon(i)} ({names.path(i)}) est mal formé : « coordinates » doit "
                f"être une {depth}"
            )
        if len(poly) == 0:
            raise InvalidGeometry(
                f"{names.polygon(i)} ({names.path(i)}) ne contient aucun anneau : la géométrie "
                "est vide"
            )
        rings: list[list[Any]] = []
        for k, ring in enumerate(poly):
            where = f"{names.ring(i, k)} ({names.path(i, k)})"
            if _is_list(ring) and ring and all(_is_number(v) for v in ring):
                raise InvalidGeometry(
                    f"{where} est une position, pas une liste de positions : il manque un niveau "
                    f"d'imbrication (« coordinates » doit être une {depth})"
                )
            if _is_list(ring) and ring and _is_list(ring[0]) and any(map(_is_list, ring[0])):
                other = "Polygon" if names.multi else "MultiPolygon"
                raise InvalidGeometry(
                    f"{where} a un niveau d'imbrication de trop (la géométrie est-elle un "
                    f"{other} ?) : « coordinates » doit être une {depth}"
                )
            if not _is_list(ring) or any(not _is_list(pos) for pos in ring):
                raise InvalidGeometry(
                    f"{where} est mal formé : un anneau est une liste de positions [x, y]"
                )
            rings.append(list(ring))
        out.append(rings)
    return out


def _read_ring(ring: list[Any], i: int, k: int, names: _Names) -> _Ring:
    """The positions of one ring as an ``(n, 2)`` array, checked and closed."""
    where = f"{names.ring(i, k)} ({names.path(i, k)})"
    if len(ring) < 4:
        raise InvalidGeometry(
            f"{where} {_only(len(ring), 'position')} : un anneau en demande au moins 4, la "
            "dernière répétant la première"
        )
    xy = np.empty((len(ring), 2), dtype=np.float64)
    for p, pos in enumerate(ring):
        at = f"la position n° {p + 1} {names.of_ring(i, k)} ({names.path(i, k, p)})"
        if len(pos) < 2:
            raise InvalidGeometry(
                f"{at} {_only(len(pos), 'nombre')} : il en faut au moins 2 (x, y)"
            )
        for value in pos[:2]:
            if _is_list(value):
                raise InvalidGeometry(f"{at} contient une liste au lieu d'un nombre")
            if not _is_number(value):
                raise InvalidGeometry(f"{at} contient {_show(value)}, qui n'est pas un nombre")
        x, y = float(pos[0]), float(pos[1])
        if not (math.isfinite(x) and math.isfinite(y)):
            raise InvalidGeometry(f"{at} contient une valeur non finie (NaN ou infini)")
        xy[p] = x, y
    if not np.array_equal(xy[0], xy[-1]):
        first, last = ring[0], ring[-1]
        raise InvalidGeometry(
            f"{where} n'est pas fermé : sa première position ({_raw(first[0])}, "
            f"{_raw(first[1])}) diffère de sa dernière ({_raw(last[0])}, {_raw(last[1])}) ; "
            "répétez la première position à la fin de l'anneau"
        )
    return xy


# --------------------------------------------------------------------------- ranges


def _inside(x: _Ring, y: _Ring, box: tuple[float, float, float, float]) -> npt.NDArray[np.bool_]:
    xmin, ymin, xmax, ymax = box
    return np.asarray((x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax))


def _check_ranges(rings: list[list[_Ring]], srid: int, names: _Names) -> None:
    """Every position in the CRS's valid range and in Lambert-93's domain, with hints."""
    flat = [(i, k, r) for i, poly in enumerate(rings) for k, r in enumerate(poly)]
    xy = np.concatenate([r for _, _, r in flat])
    x, y = xy[:, 0], xy[:, 1]

    def locate(bad: npt.NDArray[np.bool_]) -> str:
        n = int(np.argmax(bad))
        for i, k, r in flat:
            if n < len(r):
                return (
                    f"la position ({_raw(r[n, 0])}, {_raw(r[n, 1])}) {names.of_ring(i, k)} "
                    f"({names.path(i, k, n)})"
                )
            n -= len(r)
        raise AssertionError("unreachable")

    first = f"({_raw(x[0])}, {_raw(y[0])})"
    domain = _domain(srid)
    if srid == 4326:
        world = (-180.0, -90.0, 180.0, 90.0)
        if not _inside(x, y, world).all():
            if _inside(x, y, _L93_LIKE).all():
                raise InvalidGeometry(
                    "ces coordonnées ressemblent à du Lambert-93 : précisez crs = EPSG:2154 "
                    f"(première position reçue : {first})"
                )
            if _inside(y, x, world).all():
                raise InvalidGeometry(_swapped_degrees(first))
            raise InvalidGeometry(
                f"{locate(~_inside(x, y, world))} est hors des bornes d'EPSG:4326 : la longitude "
                "doit être entre -180 et 180, la latitude entre -90 et 90"
            )
        inside = _inside(x, y, domain)
        if not inside.all():
            if _inside(y, x, domain).all():
                raise InvalidGeometry(_swapped_degrees(first))
            w, s, e, n = domain
            raise InvalidGeometry(
                f"{locate(~inside)} est hors du domaine du Lambert-93, où les surfaces sont "
                f"calculées (France métropolitaine et Corse : longitude de {w} à {e}, latitude "
                f"de {s} à {n})"
            )
        return
    if _inside(x, y, (-180.0, -90.0, 180.0, 90.0)).all():
        raise InvalidGeometry(
            "ces coordonnées ressemblent à des degrés (longitude, latitude) : précisez "
            f"crs = EPSG:4326 (première position reçue : {first})"
        )
    inside = _inside(x, y, domain)
    if not inside.all():
        if _inside(y, x, domain).all():
            raise InvalidGeometry(
                "x et y semblent inversés : en Lambert-93 l'ordre attendu est [x (vers l'est), "
                f"y (vers le nord)], par exemple [893000, 6246000] ; première position reçue : "
                f"{first}"
            )
        xmin, ymin, xmax, ymax = (_fr_number(v) for v in domain)
        raise InvalidGeometry(
            f"{locate(~inside)} est hors du domaine du Lambert-93 (EPSG:2154, France "
            f"métropolitaine et Corse) : x doit être entre {xmin} et {xmax} m, y entre {ymin} "
            f"et {ymax} m"
        )


def _swapped_degrees(first: str) -> str:
    return (
        "la latitude et la longitude semblent inversées : GeoJSON attend l'ordre "
        f"[longitude, latitude] ; première position reçue : {first}"
    )


# --------------------------------------------------------------------------- validity


def _rings_at(rings: list[_Ring], x: float, y: float) -> list[int]:
    """Indexes of the rings that pass through a point (to a relative 1e-9)."""
    scale = max(1.0, *(float(np.abs(r).max()) for r in rings))
    lines = [shapely.LineString(r) for r in rings]
    dist = shapely.distance(lines, shapely.Point(x, y))
    return [int(j) for j in np.flatnonzero(np.asarray(dist) <= 1e-9 * scale)]


def _parse_reason(geom: shapely.Geometry) -> tuple[str, float, float] | None:
    """GEOS's reason for an invalid geometry and its location; ``None`` when valid."""
    if shapely.is_valid(geom):
        return None
    text = str(shapely.is_valid_reason(geom))
    m = _VALIDITY.match(text)
    if m is None:
        raise InvalidGeometry(f"la géométrie n'est pas valide ({text})")
    return m["reason"].strip(), float(m["x"]), float(m["y"])


def _check_polygon(rings: list[_Ring], i: int, srid: int, names: _Names) -> shapely.Polygon:
    """One polygon, valid on its own, or a message naming the rings at fault and where."""
    for k, ring in enumerate(rings):
        if shapely.area(shapely.convex_hull(shapely.multipoints(ring))) == 0.0:
            raise InvalidGeometry(
                f"{names.ring(i, k)} ({names.path(i, k)}) a une surface nulle : ses positions "
                "sont alignées ou confondues"
            )
    poly = shapely.Polygon(rings[0], rings[1:])
    found = _parse_reason(poly)
    if found is None:
        return poly
    reason, x, y = found
    at = f"au point {_point(x, y, srid)}"
    there = _rings_at(rings, x, y)
    named = [names.ring(i, k) for k in there]
    short = ["l'anneau extérieur" if k == 0 else f"le trou n° {k}" for k in there]
    key = reason.lower()
    if key == "self-intersection":
        if len(named) >= 2:
            message = (
                f"{' et '.join(short)} {names.of_polygon(i)} se coupent ou se superposent {at} : "
                "un trou doit être à l'intérieur de l'anneau extérieur, sans le croiser"
            )
        elif there and there[0] > 0:
            message = f"{named[0]} se recoupe lui-même {at}"
        else:
            message = (
                f"{names.polygon(i)} se recoupe lui-même {at} : redessinez le contour sans "
                "croisement"
            )
    elif key == "ring self-intersection":
        who = named[0] if named else f"un anneau {names.of_polygon(i)}"
        message = (
            f"{who} se touche lui-même {at} (boucle) : séparez les deux parties ou faites de la "
            "boucle un trou"
        )
    elif key == "hole lies outside shell":
        holes = [n for k, n in zip(there, named, strict=True) if k > 0]
        who = holes[0] if holes else f"un trou {names.of_polygon(i)}"
        message = f"{who} est en dehors de l'anneau extérieur, {at}"
    elif key == "holes are nested":
        inner = [k for k in there if k > 0]
        point = shapely.Point(x, y)
        outer = [
            k
            for k in range(1, len(rings))
            if k not in inner and shapely.Polygon(rings[k]).contains(point)
        ]
        if inner and outer:
            message = (
                f"{names.ring(i, inner[0])} est à l'intérieur du trou n° {outer[0]}, {at} : "
                "les trous ne peuvent pas être imbriqués"
            )
        else:
            message = f"des trous {names.of_polygon(i)} sont imbriqués l'un dans l'autre, {at}"
    elif key == "interior is disconnected":
        message = (
            f"les trous {names.of_polygon(i)} coupent sa surface en plusieurs morceaux, {at} : "
            "envoyez les morceaux comme polygones séparés d'un MultiPolygon"
        )
    elif key.startswith("too few"):
        who = named[0] if named else f"un anneau {names.of_polygon(i)}"
        message = f"{who} a trop peu de points distincts, {at} : il en faut au moins 3"
    elif key == "duplicate rings":
        message = f"un anneau {names.of_polygon(i)} est répété, {at}"
    else:
        message = f"{names.polygon(i)} n'est pas valide ({reason}), {at}"
    raise InvalidGeometry(message)


def _check_parts(
    polys: list[shapely.Polygon], rings: list[list[_Ring]], srid: int, names: _Names
) -> None:
    """The polygons of a MultiPolygon must neither overlap, nor share an edge, nor nest."""
    found = _parse_reason(shapely.MultiPolygon(polys))
    if found is None:
        return
    reason, x, y = found
    at = f"au point {_point(x, y, srid)}"
    point = shapely.Point(x, y)
    on = [i for i, r in enumerate(rings) if _rings_at(r, x, y)]
    key = reason.lower()
    if key == "nested shells":
        outer = [i for i, p in enumerate(polys) if i not in on and p.contains(point)]
        if on and outer:
            message = (
                f"{names.polygon(on[0])} est à l'intérieur {names.of_polygon(outer[0])}, {at} : "
                "pour évider un polygone, utilisez un trou ; sinon, fusionnez-les"
            )
        else:
            message = f"un polygone est à l'intérieur d'un autre, {at}"
    elif key in ("self-intersection", "duplicate rings"):
        if len(on) >= 2:
            message = (
                f"les polygones n° {on[0] + 1} et n° {on[1] + 1} se chevauchent ou se touchent "
                f"le long d'un bord, {at} : fusionnez-les ou séparez-les"
            )
        else:
            message = f"des polygones de la géométrie se chevauchent, {at}"
    else:
        message = f"la géométrie n'est pas valide ({reason}), {at}"
    raise InvalidGeometry(message)


def _polygonal(geom: shapely.Geometry) -> list[shapely.Polygon]:
    """The polygons inside any geometry."""
    if isinstance(geom, shapely.Polygon):
        return [] if geom.is_empty else [geom]
    parts = getattr(geom, "geoms", [])
    return [p for g in parts for p in _polygonal(g)]


# --------------------------------------------------------------------------- public API


def parse_polygon(
    geometry: Mapping[str, Any],
    *,
    srid: int = 4326,
    max_vertices: int = 10_000,
    max_area_km2: float = 1_000.0,
) -> shapely.MultiPolygon:
    """Check a planner's GeoJSON polygon and return it as a valid EPSG:4326 MultiPolygon.

    Parameters
    ----------
    geometry
        A GeoJSON ``Polygon`` or ``MultiPolygon`` geometry, or a ``Feature`` holding one.
    srid
        CRS of the coordinates: 4326 (longitude, latitude, in GeoJSON order) or 2154
        (Lambert-93, metres).
    max_vertices
        Most positions accepted, counted over every ring (closing positions included).
    max_area_km2
        Largest area accepted, computed in Lambert-93.

    Returns
    -------
    shapely.MultiPolygon
        Valid, in EPSG:4326 (longitude, latitude), exterior rings counter-clockwise and holes
        clockwise (RFC 7946). Coordinates sent in EPSG:4326 come back unchanged, apart from the
        order of the positions of a ring wound the wrong way.

    Raises
    ------
    geotranquil.errors.InvalidGeometry
        With a French message that says what is wrong and where: wrong type, malformed or
        unclosed ring, coordinates out of range (with a hint when they look like Lambert-93 or
        like swapped latitude and longitude), self-intersection and its location (in the CRS of
        the input), too many vertices, area too large or zero.

    Examples
    --------
    >>> square = {"type": "Polygon", "coordinates": [
    ...     [[5.37, 43.29], [5.38, 43.29], [5.38, 43.30], [5.37, 43.30], [5.37, 43.29]]]}
    >>> zone = parse_polygon(square)
    >>> zone.geom_type, len(zone.geoms), round(area_km2(zone), 3)
    ('MultiPolygon', 1, 0.903)
    >>> bowtie = {"type": "Polygon", "coordinates": [
    ...     [[5.37, 43.29], [5.38, 43.30], [5.38, 43.29], [5.37, 43.30], [5.37, 43.29]]]}
    >>> parse_polygon(bowtie)
    Traceback (most recent call last):
    ...
    geotranquil.errors.InvalidGeometry: le polygone se recoupe lui-même au point (5.375, 43.295) : redessinez le contour sans croisement
    """  # noqa: E501
    if srid not in SUPPORTED_SRIDS:
        raise InvalidGeometry(
            f"système de coordonnées EPSG:{srid} non pris en charge : utilisez EPSG:4326 "
            "(longitude, latitude) ou EPSG:2154 (Lambert-93)"
        )
    gtype, coords = _unwrap(geometry)
    names = _Names(multi=gtype == "MultiPolygon")
    raw = _polygons(gtype, coords, names)

    vertices = sum(len(ring) for poly in raw for ring in poly)
    if vertices > max_vertices:
        raise InvalidGeometry(
            f"la géométrie compte {_fr_number(vertices)} sommets, au-delà de la limite de "
            f"{_fr_number(max_vertices)} : simplifiez le contour"
        )

    rings = [
        [_read_ring(ring, i, k, names) for k, ring in enumerate(poly)] for i, poly in enumerate(raw)
    ]
    _check_ranges(rings, srid, names)
    polys = [_check_polygon(r, i, srid, names) for i, r in enumerate(rings)]
    _check_parts(polys, rings, srid, names)

    source = shapely.MultiPolygon([orient(p, sign=1.0) for p in polys])
    if srid == 4326:
        result = source
        area = area_km2(result)
    else:
        area = float(source.area) / 1e6
        result = _reproject(source, 2154, 4326)
        if not result.is_valid:  # vertices closer than the reprojection's rounding
            parts = _polygonal(shapely.make_valid(result))
            if not parts:
                raise InvalidGeometry("la géométrie a une surface nulle une fois convertie")
            result = shapely.MultiPolygon([orient(p, sign=1.0) for p in parts])

    if not area > 0.0:
        raise InvalidGeometry("la géométrie a une surface nulle")
    if area > max_area_km2:
        raise InvalidGeometry(
            f"la zone couvre {_fr_number(area, 1)} km², au-delà de la limite de "
            f"{_fr_limit(max_area_km2)} km² : découpez-la ou choisissez une zone plus petite"
        )
    return result


def _rounded(value: Any, digits: int) -> Any:
    if isinstance(value, Mapping):
        return {k: _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v, digits) for v in value]
    if isinstance(value, float):
        return round(value, digits) + 0.0  # + 0.0 turns -0.0 into 0.0
    return value


def to_geojson(geom: shapely.Geometry) -> dict[str, Any]:
    """GeoJSON mapping of a geometry, coordinates as lists rounded to 7 decimals (about 1 cm)."""
    out: dict[str, Any] = _rounded(mapping(geom), 7)  # type: ignore[arg-type]
    return out
