"""A coarse, built-in geography of Marseille, written for the project.

It lets the demo and the tests run anywhere, without the official boundary files. The commune
outline is a 38-vertex sketch of the mainland coast and the commune's land borders (about 237 km²
against 238.5 km² for the official outline; the islands are left out). The 16 arrondissement zones
are the Voronoi cells of one representative point per arrondissement, clipped to that outline:
good enough to spread residents and name a zone, not a legal boundary. Populations are INSEE's
legal populations (870,321 residents in all).
"""

from __future__ import annotations

from shapely import MultiPolygon, Point, Polygon, voronoi_polygons
from shapely.geometry import MultiPoint

#: Simplified outline of the commune of Marseille (lon, lat), mainland only.
COMMUNE_OUTLINE: tuple[tuple[float, float], ...] = (
    (5.510, 43.198),
    (5.459, 43.211),
    (5.445, 43.211),
    (5.455, 43.202),
    (5.404, 43.213),
    (5.342, 43.213),
    (5.376, 43.255),
    (5.345, 43.282),
    (5.354, 43.294),
    (5.373, 43.294),
    (5.360, 43.296),
    (5.364, 43.314),
    (5.345, 43.333),
    (5.351, 43.335),
    (5.328, 43.345),
    (5.341, 43.345),
    (5.308, 43.361),
    (5.282, 43.354),
    (5.279, 43.380),
    (5.297, 43.389),
    (5.322, 43.368),
    (5.355, 43.374),
    (5.350, 43.382),
    (5.369, 43.390),
    (5.378, 43.384),
    (5.380, 43.370),
    (5.439, 43.391),
    (5.449, 43.386),
    (5.465, 43.360),
    (5.450, 43.339),
    (5.472, 43.317),
    (5.514, 43.322),
    (5.531, 43.314),
    (5.532, 43.298),
    (5.505, 43.281),
    (5.526, 43.238),
    (5.507, 43.233),
    (5.518, 43.215),
    (5.510, 43.198),
)

#: (INSEE code, name, postcode, population, representative point lon, lat) per arrondissement.
#: Representative points are on land (the published centres of the 2e, 7e and 8e are at sea).
ARRONDISSEMENTS: tuple[tuple[str, str, str, int, float, float], ...] = (
    ("13201", "Marseille 1er Arrondissement", "13001", 39265, 5.3828, 43.3002),
    ("13202", "Marseille 2e Arrondissement", "13002", 23898, 5.3660, 43.3080),
    ("13203", "Marseille 3e Arrondissement", "13003", 52277, 5.3806, 43.3113),
    ("13204", "Marseille 4e Arrondissement", "13004", 49636, 5.4002, 43.3063),
    ("13205", "Marseille 5e Arrondissement", "13005", 45098, 5.4006, 43.2925),
    ("13206", "Marseille 6e Arrondissement", "13006", 40734, 5.3814, 43.2876),
    ("13207", "Marseille 7e Arrondissement", "13007", 34596, 5.3640, 43.2830),
    ("13208", "Marseille 8e Arrondissement", "13008", 82155, 5.3850, 43.2450),
    ("13209", "Marseille 9e Arrondissement", "13009", 76053, 5.4523, 43.2366),
    ("13210", "Marseille 10e Arrondissement", "13010", 59131, 5.4243, 43.2743),
    ("13211", "Marseille 11e Arrondissement", "13011", 57519, 5.4787, 43.2877),
    ("13212", "Marseille 12e Arrondissement", "13012", 61931, 5.4418, 43.3071),
    ("13213", "Marseille 13e Arrondissement", "13013", 91959, 5.4301, 43.3528),
    ("13214", "Marseille 14e Arrondissement", "13014", 60968, 5.3915, 43.3468),
    ("13215", "Marseille 15e Arrondissement", "13015", 79092, 5.3653, 43.3531),
    ("13216", "Marseille 16e Arrondissement", "13016", 16009, 5.3161, 43.3642),
)


def commune_outline() -> MultiPolygon:
    """Return the built-in commune outline as a MultiPolygon in EPSG:4326."""
    return MultiPolygon([Polygon(COMMUNE_OUTLINE)])


def arrondissement_zones() -> list[tuple[str, MultiPolygon]]:
    """Return ``(insee_code, zone)`` pairs: Voronoi cells of the points, clipped to the outline.

    Examples
    --------
    >>> zones = arrondissement_zones()
    >>> len(zones), zones[0][0]
    (16, '13201')
    """
    outline = commune_outline()
    points = MultiPoint([Point(lon, lat) for *_, lon, lat in ARRONDISSEMENTS])
    cells = list(voronoi_polygons(points, extend_to=outline.envelope.buffer(0.1)).geoms)
    zones: list[tuple[str, MultiPolygon]] = []
    for code, _name, _cp, _pop, lon, lat in ARRONDISSEMENTS:
        cell = next(c for c in cells if c.contains(Point(lon, lat)))
        clipped = cell.intersection(outline)
        parts = [clipped] if isinstance(clipped, Polygon) else list(getattr(clipped, "geoms", []))
        zones.append((code, MultiPolygon([p for p in parts if isinstance(p, Polygon)])))
    return zones
