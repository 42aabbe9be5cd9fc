"""Planners' polygons: parsing, French messages, Lambert-93 input, winding order."""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from geotranquil.errors import InvalidGeometry
from geotranquil.geography.polygons import SUPPORTED_SRIDS, area_km2, parse_polygon, to_geojson

NNBSP = "\u202f"
# A square of 0.01° near the Vieux-Port, counter-clockwise (east, then north).
SQUARE = [(5.37, 43.29), (5.38, 43.29), (5.38, 43.30), (5.37, 43.30), (5.37, 43.29)]
TO_L93 = Transformer.from_crs(4326, 2154, always_xy=True)


def polygon(*rings: Sequence[Sequence[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring] for ring in rings]}


def multipolygon(*polys: dict[str, Any]) -> dict[str, Any]:
    return {"type": "MultiPolygon", "coordinates": [p["coordinates"] for p in polys]}


def l93(ring: list[tuple[float, float]]) -> list[tuple[float, float]]:
    x, y = TO_L93.transform([p[0] for p in ring], [p[1] for p in ring])
    return list(zip(x, y, strict=True))


def message(geometry: Any, **kwargs: Any) -> str:
    with pytest.raises(InvalidGeometry) as err:
        parse_polygon(geometry, **kwargs)
    return str(err.value)


# --------------------------------------------------------------------------- accepted input


def test_valid_square_comes_back_identical() -> None:
    given = polygon(SQUARE)
    before = copy.deepcopy(given)
    zone = parse_polygon(given)
    assert isinstance(zone, shapely.MultiPolygon)
    assert len(zone.geoms) == 1
    assert list(zone.geoms[0].exterior.coords) == SQUARE
    assert list(zone.geoms[0].interiors) == []
    assert zone.is_valid
    assert given == before  # the input is not modified


def test_clockwise_square_is_turned_counter_clockwise() -> None:
    clockwise = SQUARE[::-1]
    assert not shapely.LinearRing(clockwise).is_ccw
    zone = parse_polygon(polygon(clockwise))
    ring = zone.geoms[0].exterior
    assert ring.is_ccw
    assert zone.area == pytest.approx(shapely.Polygon(SQUARE).area, rel=1e-12)
    assert zone.equals(shapely.Polygon(SQUARE))


def test_feature_wrapper_is_unwrapped() -> None:
    feature = {"type": "Feature", "properties": {"name": "Vieux-Port"}, "geometry": polygon(SQUARE)}
    zone = parse_polygon(feature)
    assert list(zone.geoms[0].exterior.coords) == SQUARE


def test_multipolygon_with_hole_has_clockwise_holes() -> None:
    # outer square given clockwise, its hole given counter-clockwise: both are turned round
    outer = [(5.30, 43.20), (5.30, 43.25), (5.35, 43.25), (5.35, 43.20), (5.30, 43.20)]
    hole = [(5.31, 43.21), (5.32, 43.21), (5.32, 43.22), (5.31, 43.22), (5.31, 43.21)]
    assert not shapely.LinearRing(outer).is_ccw
    assert shapely.LinearRing(hole).is_ccw
    zone = parse_polygon(multipolygon(polygon(outer, hole), polygon(SQUARE)))
    assert zone.is_valid
    assert len(zone.geoms) == 2
    first, second = zone.geoms
    assert first.exterior.is_ccw and second.exterior.is_ccw
    assert len(first.interiors) == 1
    assert not first.interiors[0].is_ccw
    assert set(first.interiors[0].coords) == set(hole)
    expected = 0.05 * 0.05 - 0.01 * 0.01 + 0.01 * 0.01
    assert zone.area == pytest.approx(expected, rel=1e-9)


def test_lambert93_square_equals_the_wgs84_one() -> None:
    corners = l93(SQUARE)
    assert 892_000 < corners[0][0] < 893_000 and 6_246_000 < corners[0][1] < 6_247_000
    zone = parse_polygon(polygon(corners), srid=2154)
    got = np.asarray(zone.geoms[0].exterior.coords)
    assert got.shape == (5, 2)
    assert np.allclose(got, np.asarray(SQUARE), rtol=0.0, atol=1e-7)
    assert zone.geoms[0].exterior.is_ccw


def test_positions_with_altitude_and_integers_are_read() -> None:
    square = [[x, y, 12.5] for x, y in SQUARE]
    zone = parse_polygon({"type": "Polygon", "coordinates": [square]})
    assert not zone.has_z
    assert list(zone.geoms[0].exterior.coords) == SQUARE
    ints = [(892_000, 6_246_000), (893_000, 6_246_000), (893_000, 6_247_000), (892_000, 6_246_000)]
    assert parse_polygon(polygon(ints), srid=2154).is_valid


def test_supported_srids() -> None:
    assert SUPPORTED_SRIDS == (4326, 2154)
    assert "EPSG:3857 non pris en charge" in message(polygon(SQUARE), srid=3857)


# --------------------------------------------------------------------------- wrong types


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([[5.37, 43.29]], "doit être un objet GeoJSON (un dictionnaire"),
        ("POLYGON((0 0, 1 0, 1 1, 0 0))", "reçu : str"),
        ({"coordinates": [SQUARE]}, "n'a pas de membre « type »"),
        (
            {"type": "Point", "coordinates": [5.37, 43.29]},
            "type de géométrie « Point » non accepté : seuls « Polygon » et « MultiPolygon »",
        ),
        (
            {"type": "LineString", "coordinates": SQUARE},
            "type de géométrie « LineString » non accepté",
        ),
        ({"type": "FeatureCollection", "features": []}, "une FeatureCollection n'est pas acceptée"),
        ({"type": "polygon", "coordinates": []}, "respectent la casse, écrivez « Polygon »"),
        ({"type": "Polygon"}, "n'a pas de membre « coordinates »"),
        (
            {"type": "Feature", "geometry": None, "properties": {}},
            "l'entité GeoJSON (Feature) n'a pas de géométrie",
        ),
        ({"type": "Feature", "properties": {}}, "n'a pas de géométrie"),
        (
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [5, 43]}},
            "« Point » non accepté",
        ),
    ],
)
def test_wrong_types_are_refused(given: Any, expected: str) -> None:
    assert expected in message(given)


# --------------------------------------------------------------------------- malformed


def test_unclosed_ring_names_the_ring_and_both_positions() -> None:
    ring = [*SQUARE[:-1], (5.3700001, 43.29)]
    text = message(polygon(ring))
    assert text == (
        "l'anneau extérieur du polygone (coordinates[0]) n'est pas fermé : sa première "
        "position (5.37, 43.29) diffère de sa dernière (5.3700001, 43.29) ; répétez la première "
        "position à la fin de l'anneau"
    )


def test_unclosed_hole_of_second_polygon_is_named() -> None:
    outer = [(5.30, 43.20), (5.35, 43.20), (5.35, 43.25), (5.30, 43.25), (5.30, 43.20)]
    hole = [(5.31, 43.21), (5.31, 43.22), (5.32, 43.22), (5.32, 43.21)]
    text = message(multipolygon(polygon(SQUARE), polygon(outer, hole)))
    assert text.startswith("le trou n° 1 du polygone n° 2 (coordinates[1][1]) n'est pas fermé")
    assert "(5.31, 43.21)" in text and "(5.32, 43.21)" in text


@pytest.mark.parametrize(
    ("coordinates", "expected"),
    [
        ("carré", "« coordinates » doit être une liste d'anneaux"),
        ([], "le polygone (coordinates) ne contient aucun anneau"),
        ([[]], "l'anneau extérieur du polygone (coordinates[0]) n'a aucune position"),
        ([[list(p) for p in SQUARE[:3]]], "n'a que 3 positions : un anneau en demande au moins 4"),
        ([list(p) for p in SQUARE], "il manque un niveau d'imbrication"),
        ([[[list(p) for p in SQUARE]]], "la géométrie est-elle un MultiPolygon ?"),
        (
            [[[5.37], *[list(p) for p in SQUARE[1:]]]],
            "la position n° 1 de l'anneau extérieur du polygone (coordinates[0][0]) n'a qu'un "
            "nombre : il en faut au moins 2 (x, y)",
        ),
        (
            [[[5.37, "43.29"], *[list(p) for p in SQUARE[1:]]]],
            "contient '43.29', qui n'est pas un nombre",
        ),
        ([[[5.37, True], *[list(p) for p in SQUARE[1:]]]], "contient True, qui n'est pas"),
        (
            [[*[list(p) for p in SQUARE[:2]], [5.38, math.nan], *[list(p) for p in SQUARE[3:]]]],
            "la position n° 3 de l'anneau extérieur du polygone (coordinates[0][2]) contient une "
            "valeur non finie (NaN ou infini)",
        ),
        ([[[math.inf, 43.29], *[list(p) for p in SQUARE[1:]]]], "valeur non finie"),
    ],
)
def test_malformed_coordinates(coordinates: Any, expected: str) -> None:
    assert expected in message({"type": "Polygon", "coordinates": coordinates})


def test_empty_multipolygon_is_refused() -> None:
    assert "ne contient aucun polygone" in message({"type": "MultiPolygon", "coordinates": []})


def test_zero_area_ring_is_refused() -> None:
    flat = [(5.37, 43.29), (5.38, 43.29), (5.39, 43.29), (5.37, 43.29)]
    assert message(polygon(flat)) == (
        "l'anneau extérieur du polygone (coordinates[0]) a une surface nulle : ses positions "
        "sont alignées ou confondues"
    )
    same = [(5.37, 43.29)] * 4
    assert "a une surface nulle" in message(polygon(same))


# --------------------------------------------------------------------------- ranges and hints


def test_lambert93_numbers_sent_as_degrees_get_the_hint() -> None:
    text = message(polygon(l93(SQUARE)))
    assert text.startswith("ces coordonnées ressemblent à du Lambert-93 : précisez crs = EPSG:2154")


def test_swapped_latitude_and_longitude_get_the_hint() -> None:
    swapped = [(lat, lon) for lon, lat in SQUARE]  # (43.29, 5.37): in range, but not in France
    text = message(polygon(swapped))
    assert text.startswith("la latitude et la longitude semblent inversées")
    assert "(43.29, 5.37)" in text
    # swapped and out of range (latitude 120): the same hint
    far = [(43.29, 120.0), (43.30, 120.0), (43.30, 120.1), (43.29, 120.0)]
    assert message(polygon(far)).startswith("la latitude et la longitude semblent inversées")


def test_out_of_range_degrees_name_the_position() -> None:
    ring = [(5.37, 43.29), (5.38, 43.29), (500.0, 43.30), (5.37, 43.29)]
    assert message(polygon(ring)) == (
        "la position (500.0, 43.3) de l'anneau extérieur du polygone (coordinates[0][2]) est "
        "hors des bornes d'EPSG:4326 : la longitude doit être entre -180 et 180, la latitude "
        "entre -90 et 90"
    )


def test_outside_lambert93_domain_is_refused() -> None:
    tokyo = [(139.7, 35.6), (139.8, 35.6), (139.8, 35.7), (139.7, 35.6)]
    assert "hors du domaine du Lambert-93" in message(polygon(tokyo))
    far = [(x + 5_000_000, y) for x, y in l93(SQUARE)]
    text = message(polygon(far), srid=2154)
    assert "hors du domaine du Lambert-93 (EPSG:2154" in text
    assert f"x doit être entre -378{NNBSP}306 et 1{NNBSP}320{NNBSP}650 m" in text


def test_degrees_sent_as_lambert93_get_the_hint() -> None:
    assert message(polygon(SQUARE), srid=2154).startswith(
        "ces coordonnées ressemblent à des degrés (longitude, latitude) : précisez crs = EPSG:4326"
    )
    swapped = [(y, x) for x, y in l93(SQUARE)]
    assert message(polygon(swapped), srid=2154).startswith("x et y semblent inversés")


# --------------------------------------------------------------------------- topology


def test_bow_tie_reports_the_crossing_point() -> None:
    # edges (5.37, 43.29)→(5.41, 43.31): y = 43.29 + (x − 5.37) / 2
    # and   (5.41, 43.29)→(5.37, 43.30): y = 43.29 + (5.41 − x) / 4
    # cross where (x − 5.37) / 2 = (5.41 − x) / 4, i.e. x = 16.15 / 3 = 5.383333…, y = 43.296667
    bowtie = [(5.37, 43.29), (5.41, 43.31), (5.41, 43.29), (5.37, 43.30), (5.37, 43.29)]
    text = message(polygon(bowtie))
    assert text == (
        "le polygone se recoupe lui-même au point (5.383333, 43.296667) : redessinez le "
        "contour sans croisement"
    )


def test_bow_tie_in_lambert93_is_located_in_metres() -> None:
    # edges (892000, 6245000)→(893000, 6246000): y − 6245000 = x − 892000
    # and   (893000, 6245000)→(892000, 6245500): y − 6245000 = (893000 − x) / 2
    # cross at x = 892333.33…, y = 6245333.33…
    bowtie = [
        (892_000, 6_245_000),
        (893_000, 6_246_000),
        (893_000, 6_245_000),
        (892_000, 6_245_500),
    ]
    text = message(polygon([*bowtie, bowtie[0]]), srid=2154)
    assert "le polygone se recoupe lui-même au point (892333.3, 6245333.3)" in text


def test_other_invalidities_are_translated() -> None:
    big = [(5.30, 43.20), (5.40, 43.20), (5.40, 43.31), (5.30, 43.31), (5.30, 43.20)]
    loop = [
        (5.37, 43.29),
        (5.39, 43.29),
        (5.39, 43.31),
        (5.38, 43.29),
        (5.37, 43.31),
        (5.37, 43.29),
    ]
    assert message(polygon(loop)).startswith(
        "l'anneau extérieur du polygone se touche lui-même au point (5.38, 43.29) (boucle)"
    )
    outside = [(5.40, 43.29), (5.41, 43.29), (5.41, 43.30), (5.40, 43.29)]
    assert message(polygon(SQUARE, outside)) == (
        "le trou n° 1 du polygone est en dehors de l'anneau extérieur, au point (5.4, 43.29)"
    )
    crossing = [(5.375, 43.28), (5.376, 43.295), (5.374, 43.295), (5.375, 43.28)]
    assert message(polygon(SQUARE, crossing)).startswith(
        "l'anneau extérieur et le trou n° 1 du polygone se coupent ou se superposent au point"
    )
    hole = [(5.31, 43.21), (5.39, 43.21), (5.39, 43.29), (5.31, 43.29), (5.31, 43.21)]
    inner = [(5.32, 43.22), (5.33, 43.22), (5.33, 43.23), (5.32, 43.22)]
    assert message(polygon(big, hole, inner)).startswith(
        "le trou n° 2 du polygone est à l'intérieur du trou n° 1, au point (5.32, 43.22)"
    )
    cut = [(5.30, 43.25), (5.35, 43.20), (5.40, 43.25), (5.35, 43.31), (5.30, 43.25)]
    assert message(polygon(big, cut)).startswith(
        "les trous du polygone coupent sa surface en plusieurs morceaux, au point"
    )


def test_parts_of_a_multipolygon_must_not_overlap_or_nest() -> None:
    big = [(5.30, 43.20), (5.40, 43.20), (5.40, 43.31), (5.30, 43.31), (5.30, 43.20)]
    assert message(multipolygon(polygon(big), polygon(SQUARE))).startswith(
        "le polygone n° 2 est à l'intérieur du polygone n° 1, au point (5.37, 43.29)"
    )
    shifted = [(x + 0.005, y) for x, y in SQUARE]
    assert message(multipolygon(polygon(SQUARE), polygon(shifted))).startswith(
        "les polygones n° 1 et n° 2 se chevauchent ou se touchent le long d'un bord, au point"
    )
    bowtie = [(5.30, 43.20), (5.32, 43.22), (5.32, 43.20), (5.30, 43.22), (5.30, 43.20)]
    assert message(multipolygon(polygon(SQUARE), polygon(bowtie))).startswith(
        "le polygone n° 2 se recoupe lui-même au point (5.31, 43.21)"
    )


# --------------------------------------------------------------------------- limits


def test_vertex_limit_gives_the_count_and_the_limit() -> None:
    assert message(polygon(SQUARE), max_vertices=4) == (
        "la géométrie compte 5 sommets, au-delà de la limite de 4 : simplifiez le contour"
    )
    circle = shapely.Point(5.37, 43.29).buffer(0.01, quad_segs=3_000)
    ring = list(circle.exterior.coords)
    assert len(ring) == 12_001
    text = message(polygon(ring))
    assert f"la géométrie compte 12{NNBSP}001 sommets, au-delà de la limite de 10{NNBSP}000" in text
    assert parse_polygon(polygon(ring), max_vertices=12_001).is_valid
    # every position counts, closing ones and holes' included
    hole = [(5.371, 43.291), (5.372, 43.291), (5.372, 43.292), (5.371, 43.291)]
    assert "compte 9 sommets, au-delà de la limite de 8" in message(
        polygon(SQUARE, hole), max_vertices=8
    )


def test_area_limit_gives_the_area_and_the_limit() -> None:
    x0, y0 = 880_000.0, 6_230_000.0
    square = [(x0, y0), (x0 + 40_000, y0), (x0 + 40_000, y0 + 40_000), (x0, y0 + 40_000), (x0, y0)]
    text = message(polygon(square), srid=2154, max_area_km2=1_000.0)
    assert text == (
        f"la zone couvre 1{NNBSP}600,0 km², au-delà de la limite de 1{NNBSP}000 km² : "
        "découpez-la ou choisissez une zone plus petite"
    )
    zone = parse_polygon(polygon(square), srid=2154, max_area_km2=2_000.0)
    assert area_km2(zone) == pytest.approx(1_600.0, rel=1e-9)
    # the same square sent in degrees is measured in Lambert-93 too
    to_deg = Transformer.from_crs(2154, 4326, always_xy=True)
    lon, lat = to_deg.transform([p[0] for p in square], [p[1] for p in square])
    degrees = list(zip(lon, lat, strict=True))
    assert f"la zone couvre 1{NNBSP}600,0 km²" in message(polygon(degrees))


def test_area_km2_of_the_vieux_port_square() -> None:
    # 0.01° × 0.01° at 43.29° N: 1.1119 km × 0.8101 km on the sphere, 0.903 km² in Lambert-93
    assert area_km2(shapely.Polygon(SQUARE)) == pytest.approx(0.903, abs=5e-4)


# --------------------------------------------------------------------------- output


def test_to_geojson_rounds_to_seven_decimals() -> None:
    zone = parse_polygon(polygon(l93(SQUARE)), srid=2154)
    out = to_geojson(zone)
    assert out["type"] == "MultiPolygon"
    assert out["coordinates"] == [[[list(p) for p in SQUARE]]]
    assert to_geojson(shapely.Point(5.123456789, -0.00000001)) == {
        "type": "Point",
        "coordinates": [5.1234568, 0.0],
    }
