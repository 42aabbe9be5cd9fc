"""Reference geography: the built-in coarse one and the official files."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from geotranquil.geography.reference import as_multipolygon, load_builtin, load_geography
from tests.conftest import official_dir_or_skip


def _km2(geoms: list[shapely.Geometry]) -> float:
    return float(gpd.GeoSeries(geoms, crs=4326).to_crs(2154).area.sum() / 1e6)


def test_builtin_partitions_its_outline() -> None:
    geo = load_builtin()
    arr = geo.arrondissements
    assert arr["code"].tolist() == [f"132{i:02d}" for i in range(1, 17)]
    assert geo.population == 870_321
    assert arr["postcode"].tolist() == [f"130{i:02d}" for i in range(1, 17)]
    assert all(g.is_valid and not g.is_empty for g in arr.geometry)
    union = shapely.union_all(list(arr.geometry))
    # the zones tile the outline: same area, no overlap
    assert abs(_km2([union]) - _km2([geo.commune])) < 0.01
    assert abs(_km2(list(arr.geometry)) - _km2([geo.commune])) < 0.01
    assert 230 < _km2([geo.commune]) < 245  # Marseille is 240 km² with its islands
    assert geo.quartiers.empty
    assert geo.origin == "builtin"


def test_builtin_places_landmarks_in_their_arrondissement() -> None:
    arr = load_builtin().arrondissements.set_index("code")
    # Canebière (1er), Notre-Dame-du-Mont (6e), Château-Gombert (13e), L'Estaque (16e)
    for code, lon, lat in [
        ("13201", 5.3800, 43.2975),
        ("13213", 5.4450, 43.3600),
        ("13216", 5.3100, 43.3620),
        ("13209", 5.4600, 43.2300),
    ]:
        assert arr.geometry[code].contains(shapely.Point(lon, lat)), code


def test_official_geography_is_read_and_repaired() -> None:
    folder = official_dir_or_skip()
    geo = load_geography(folder)
    assert geo.origin == f"official:{folder}"
    assert len(geo.arrondissements) == 16
    assert len(geo.quartiers) == 111
    assert geo.population == 870_321
    assert geo.quartiers["code"].is_unique
    assert set(geo.quartiers["arrondissement_code"]) == set(geo.arrondissements["code"])
    assert abs(_km2([geo.commune]) - 238.5) < 0.5
    assert all(g.geom_type == "MultiPolygon" and g.is_valid for g in geo.quartiers.geometry)


def test_missing_directory_falls_back_to_builtin(tmp_path: object) -> None:
    assert load_geography(None).origin == "builtin"


def test_as_multipolygon_rejects_non_polygons() -> None:
    from geotranquil.errors import InvalidInput

    with pytest.raises(InvalidInput):
        as_multipolygon(shapely.LineString([(0, 0), (1, 1)]))
