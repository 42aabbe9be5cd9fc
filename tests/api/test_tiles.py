"""Vector tiles decoded with mapbox-vector-tile, their content compared with SQL.

A tile holds the features that touch its envelope grown by the MVT buffer (64 of 4096 units);
the expected sets are computed with ``ST_TileEnvelope(z, x, y, margin => 64/4096)`` in
Web Mercator, the standard way a tile is cut.
"""

from __future__ import annotations

import gzip
import math
from datetime import UTC, date, datetime
from typing import Any

import h3
import httpx
import mapbox_vector_tile
import pytest
from sqlalchemy import Engine, text

from geotranquil.db.event_keys import add_missing_keys
from geotranquil.db.partitions import ensure_event_partitions
from tests.api.conftest import headers_for
from tests.api.served import SMALL_TAGS_PUBLISHED, Served
from tests.integration.ingest_helpers import CHATEAU_GOMBERT, RUE_DE_ROME

MARGIN = 64 / 4096
ENVELOPE = "ST_TileEnvelope(:z, :x, :y, margin => :m)"


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The slippy-map (XYZ) column and row of the tile holding a point."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def decode(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    return dict(mapbox_vector_tile.decode(r.content))


def _tile_params(z: int, x: int, y: int) -> dict[str, Any]:
    return {"z": z, "x": x, "y": y, "m": MARGIN}


def test_slippy_formula_covers_rue_de_rome() -> None:
    assert [tile_xy(*RUE_DE_ROME, z) for z in (12, 13, 14, 15)] == [
        (2109, 1500),
        (4218, 3001),
        (8436, 6002),
        (16873, 12004),
    ]


def test_hotspots_tile_holds_the_run_cells(
    http: httpx.Client, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    z = 13
    x, y = tile_xy(*RUE_DE_ROME, z)
    meta = http.get("/collections/hotspots", headers=headers_for("planner", api_keys)).json()
    assert meta["run_id"] == served.gi_run
    tile = decode(
        http.get(f"/tiles/hotspots/{z}/{x}/{y}.mvt", headers=headers_for("planner", api_keys))
    )
    assert set(tile) == {"hotspots"}
    features = tile["hotspots"]["features"]
    with loaded_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT lower(to_hex(c.h3)), c.z, c.gi_bin, c.significant, "
                f"ST_Intersects(ST_Transform(g.geom, 3857), ST_TileEnvelope(:z, :x, :y)) "
                "FROM hotspot_cells c JOIN grid_cells g ON g.h3 = c.h3 "
                f"WHERE c.run_id = :run AND ST_Intersects(ST_Transform(g.geom, 3857), {ENVELOPE})"
            ),
            {**_tile_params(z, x, y), "run": served.gi_run},
        ).all()
    expected = {r[0]: r for r in rows}
    got = {f["properties"]["hex_id"]: f for f in features}
    assert len(got) == len(features)  # one feature per cell
    assert set(got) == set(expected)
    inner = {h for h, r in expected.items() if r[4]}
    assert len(inner) > 100  # most of the tile, not only its buffer
    rome_cell = h3.latlng_to_cell(RUE_DE_ROME[1], RUE_DE_ROME[0], 9)
    assert rome_cell in got
    assert got[rome_cell]["properties"]["gi_bin"] == 3
    for hex_id, feature in got.items():
        _, z_score, gi_bin, significant, _ = expected[hex_id]
        props = feature["properties"]
        assert props["z"] == pytest.approx(z_score, rel=1e-12, abs=1e-12)
        assert props["gi_bin"] == gi_bin
        assert props["significant"] is significant
        assert props["run_id"] == served.gi_run
        assert feature["id"] == h3.str_to_int(hex_id)  # the H3 index is the feature id
        assert feature["geometry"]["type"] == "Polygon"


def test_ogc_tile_route_serves_the_same_tile(
    http: httpx.Client, served: Served, api_keys: dict[str, str]
) -> None:
    z = 13
    x, y = tile_xy(*RUE_DE_ROME, z)
    headers = headers_for("planner", api_keys)
    xyz = decode(http.get(f"/tiles/hotspots/{z}/{x}/{y}.mvt", headers=headers))
    ogc = decode(
        http.get(f"/collections/hotspots/tiles/WebMercatorQuad/{z}/{y}/{x}", headers=headers)
    )
    assert xyz == ogc


@pytest.mark.parametrize("z", [14, 15])
def test_events_tile_points_at_high_zoom(
    http: httpx.Client,
    served: Served,
    api_keys: dict[str, str],
    loaded_engine: Engine,
    z: int,
) -> None:
    x, y = tile_xy(*RUE_DE_ROME, z)
    tile = decode(
        http.get(f"/tiles/events/{z}/{x}/{y}.mvt", headers=headers_for("analyst", api_keys))
    )
    features = tile["events"]["features"]
    with loaded_engine.connect() as conn:
        expected = {
            r[0]: r[1]
            for r in conn.execute(
                text(
                    "SELECT id, category FROM events "
                    f"WHERE ST_Intersects(ST_Transform(geom, 3857), {ENVELOPE})"
                ),
                _tile_params(z, x, y),
            )
        }
    assert len(expected) >= 142  # at least the rue de Rome events
    assert len(features) == len(expected)
    assert {f["id"]: f["properties"]["category"] for f in features} == expected
    assert {f["geometry"]["type"] for f in features} == {"Point"}
    assert "address" not in features[0]["properties"]  # free text stays out of tiles


@pytest.mark.parametrize("z", [12, 13])
def test_events_tile_is_hexagon_counts_at_low_zoom(
    http: httpx.Client,
    served: Served,
    api_keys: dict[str, str],
    loaded_engine: Engine,
    z: int,
) -> None:
    x, y = tile_xy(*RUE_DE_ROME, z)
    tile = decode(
        http.get(f"/tiles/events/{z}/{x}/{y}.mvt", headers=headers_for("analyst", api_keys))
    )
    features = tile["events"]["features"]
    assert {f["geometry"]["type"] for f in features} == {"Polygon"}
    assert all("count" in f["properties"] for f in features)
    assert all("category" not in f["properties"] for f in features)
    counts = {
        f["properties"]["hex_id"]: f["properties"]["count"]
        for f in features
        if f["properties"]["count"]
    }
    with loaded_engine.connect() as conn:
        expected = {
            r[0]: r[1]
            for r in conn.execute(
                text(
                    "SELECT lower(to_hex(e.h3_r9)), count(*) FROM events e "
                    "JOIN grid_cells g ON g.h3 = e.h3_r9 "
                    f"WHERE ST_Intersects(ST_Transform(g.geom, 3857), {ENVELOPE}) GROUP BY 1"
                ),
                _tile_params(z, x, y),
            )
        }
    assert counts == expected
    rome = h3.latlng_to_cell(RUE_DE_ROME[1], RUE_DE_ROME[0], 9)
    assert {f["properties"]["resolution"] for f in features} == {9}
    assert counts[rome] >= 142


def test_events_tiles_are_refused_to_public_and_planner(
    http: httpx.Client, served: Served, api_keys: dict[str, str]
) -> None:
    x, y = tile_xy(*RUE_DE_ROME, 15)
    assert http.get(f"/tiles/events/15/{x}/{y}.mvt").status_code == 401
    x, y = tile_xy(*RUE_DE_ROME, 12)
    r = http.get(f"/tiles/events/12/{x}/{y}.mvt")
    assert r.status_code == 401
    assert "X-API-Key" in r.json()["description"]
    assert http.get(f"/collections/events/tiles/WebMercatorQuad/12/{y}/{x}").status_code == 401
    assert http.get(f"/tiles/hotspots/12/{x}/{y}.mvt").status_code == 401
    # tiles no one asked for yet (nothing cached): a planner never reads the events layer
    planner = headers_for("planner", api_keys)
    for z in (12, 14):
        x, y = tile_xy(*CHATEAU_GOMBERT, z)
        assert http.get(f"/tiles/events/{z}/{x}/{y}.mvt", headers=planner).status_code == 403
    partner = headers_for("partner", api_keys)
    assert http.get(f"/tiles/events/{z}/{x}/{y}.mvt", headers=partner).status_code == 403


def test_cached_events_tile_is_not_served_to_a_planner(
    http: httpx.Client, served: Served, api_keys: dict[str, str]
) -> None:
    """An analyst's tile in the server's tile cache must not bypass the planner's access check."""
    z = 15
    x, y = tile_xy(*RUE_DE_ROME, z)
    url = f"/tiles/events/{z}/{x}/{y}.mvt"
    analyst = http.get(url, headers=headers_for("analyst", api_keys))
    points = decode(analyst)["events"]["features"]
    assert points and points[0]["geometry"]["type"] == "Point"  # raw events
    planner = http.get(url, headers=headers_for("planner", api_keys))
    leaked = (
        len(mapbox_vector_tile.decode(planner.content)["events"]["features"])
        if planner.status_code == 200
        else 0
    )
    assert planner.status_code == 403, (
        f"planner got {planner.status_code} and {leaked} raw event points from the tile cache"
    )
    revalidate = http.get(
        url, headers={**headers_for("planner", api_keys), "If-None-Match": analyst.headers["ETag"]}
    )
    assert revalidate.status_code == 403


def test_public_counts_tile_suppresses_small_counts(
    http: httpx.Client, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    cell = h3.latlng_to_cell(CHATEAU_GOMBERT[1], CHATEAU_GOMBERT[0], 8)
    with loaded_engine.connect() as conn:
        in_cell = conn.execute(
            text("SELECT category, count(*) FROM events WHERE h3_r8 = :c GROUP BY 1"),
            {"c": h3.str_to_int(cell)},
        ).all()
    assert in_cell == [("tag_graffiti", 3)]
    z = 12
    x, y = tile_xy(*CHATEAU_GOMBERT, z)
    public = decode(http.get(f"/tiles/counts-r8/{z}/{x}/{y}.mvt"))["counts-r8"]["features"]
    analyst = decode(
        http.get(f"/tiles/counts-r8/{z}/{x}/{y}.mvt", headers=headers_for("analyst", api_keys))
    )["counts-r8"]["features"]
    by_cell = {f["properties"]["hex_id"]: f["properties"] for f in public}
    assert cell in by_cell
    # three tags in three weeks: three atoms of 1, each rounded to 0 or 5 (0: absent)
    assert by_cell[cell].get("count") in SMALL_TAGS_PUBLISHED
    assert by_cell[cell].get("n_tag_graffiti") == by_cell[cell].get("count")
    staff = {f["properties"]["hex_id"]: f["properties"] for f in analyst}
    assert staff[cell]["count"] == 3
    assert staff[cell]["n_tag_graffiti"] == 3
    assert set(by_cell) == set(staff)  # the same cells, only values hidden


def test_public_counts_tile_has_no_small_count_nor_private_category(
    http: httpx.Client, served: Served, loaded_engine: Engine
) -> None:
    with loaded_engine.connect() as conn:
        private = [r[0] for r in conn.execute(text("SELECT code FROM categories WHERE NOT public"))]
        public_count = conn.execute(
            text(
                "SELECT count(*) FROM events e JOIN categories c ON c.code = e.category "
                "WHERE c.public AND e.h3_r8 = :c"
            ),
            {"c": h3.str_to_int(h3.latlng_to_cell(RUE_DE_ROME[1], RUE_DE_ROME[0], 8))},
        ).scalar_one()
    assert sorted(private) == ["rixe_violence", "trafic_stupefiants", "vol"]
    rome_hex = h3.latlng_to_cell(RUE_DE_ROME[1], RUE_DE_ROME[0], 8)
    rome_items = http.get(f"/collections/counts-r8/items/{rome_hex}").json()["properties"]["count"]
    seen = 0
    for z in (12, 13, 14, 15):
        x, y = tile_xy(*RUE_DE_ROME, z)
        for feature in decode(http.get(f"/tiles/counts-r8/{z}/{x}/{y}.mvt"))["counts-r8"][
            "features"
        ]:
            props = feature["properties"]
            for name, value in props.items():
                if name == "count" or name.startswith("n_"):
                    assert value is None or value >= 5, (z, props)
            for code in private:
                assert props.get(f"n_{code}") is None
            if props["hex_id"] == h3.latlng_to_cell(RUE_DE_ROME[1], RUE_DE_ROME[0], 8):
                # public categories only, not the vols, and the same rounded figure as items
                assert props["count"] == rome_items
                assert props["count"] % 5 == 0 and abs(props["count"] - public_count) < 5 * 60
                seen += 1
    assert seen == 4


def test_etag_and_not_modified(
    http: httpx.Client, served: Served, api_keys: dict[str, str]
) -> None:
    x, y = tile_xy(*RUE_DE_ROME, 13)
    url = f"/tiles/hotspots/13/{x}/{y}.mvt"
    headers = headers_for("planner", api_keys)
    first = http.get(url, headers=headers)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert http.get(url, headers=headers).headers["ETag"] == etag
    again = http.get(url, headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = http.get(url, headers={**headers, "If-None-Match": '"something-else"'})
    assert other.status_code == 200
    # another role's view is another entity
    x8, y8 = tile_xy(*RUE_DE_ROME, 13)
    public = http.get(f"/tiles/counts-r8/13/{x8}/{y8}.mvt")
    staff = http.get(f"/tiles/counts-r8/13/{x8}/{y8}.mvt", headers=headers)
    assert public.headers["ETag"] != staff.headers["ETag"]
    assert public.headers["Cache-Control"].startswith("public")
    assert staff.headers["Cache-Control"].startswith("private")


def test_gzip_on_request(http: httpx.Client, served: Served, api_keys: dict[str, str]) -> None:
    x, y = tile_xy(*RUE_DE_ROME, 13)
    url = f"/tiles/hotspots/13/{x}/{y}.mvt"
    headers = headers_for("planner", api_keys)
    plain = http.get(url, headers={**headers, "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    with http.stream("GET", url, headers={**headers, "Accept-Encoding": "gzip"}) as r:
        assert r.status_code == 200
        assert r.headers["Content-Encoding"] == "gzip"
        raw = b"".join(r.iter_raw())
    assert len(raw) < len(plain.content)
    assert gzip.decompress(raw) == plain.content


def test_empty_tiles_are_204(
    http: httpx.Client, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    headers = headers_for("analyst", api_keys)
    sea = (14, *tile_xy(5.20, 43.20, 14))  # the sea south-west of the city
    paris = (10, *tile_xy(2.3522, 48.8566, 10))
    for z, x, y in (sea, paris):
        with loaded_engine.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM hotspot_cells c JOIN grid_cells g "
                    "ON g.h3 = c.h3 WHERE c.run_id = :run AND "
                    f"ST_Intersects(ST_Transform(g.geom, 3857), {ENVELOPE})) + "
                    "(SELECT count(*) FROM events WHERE "
                    f"ST_Intersects(ST_Transform(geom, 3857), {ENVELOPE}))"
                ),
                {**_tile_params(z, x, y), "run": served.gi_run},
            ).scalar_one()
        assert found == 0
        for layer in ("hotspots", "events"):
            r = http.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt", headers=headers)
            assert r.status_code == 204, (layer, z, x, y)
            assert r.content == b""
            assert "ETag" in r.headers


def test_tile_address_errors(http: httpx.Client, served: Served) -> None:
    r = http.get("/tiles/quartiers/3/9/0.mvt")
    assert r.status_code == 404
    assert "description" in r.json()
    assert http.get("/tiles/quartiers/3/0/8.mvt").status_code == 404
    r = http.get("/tiles/quartiers/30/0/0.mvt")
    assert r.status_code == 400
    assert "description" in r.json()
    assert http.get("/tiles/quartiers/-1/0/0.mvt").status_code == 400
    assert http.get("/tiles/quartiers/12/a/0.mvt").status_code == 400
    assert http.get("/tiles/nope/12/0/0.mvt").status_code == 404
    assert http.get("/collections/quartiers/tiles/WebMercatorQuad/3/0/9").status_code == 404
    assert http.get("/tiles/quartiers/12/2109/1500.mvt", params={"foo": "1"}).status_code == 400


def test_tilejson(http: httpx.Client, served: Served, api_keys: dict[str, str]) -> None:
    headers = headers_for("planner", api_keys)
    assert http.get("/tiles/hotspots.json").status_code == 401
    r = http.get("/tiles/hotspots.json", headers=headers)
    assert r.status_code == 200
    doc = r.json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["scheme"] == "xyz"
    assert len(doc["tiles"]) == 1
    template = doc["tiles"][0]
    assert "{z}" in template and "{x}" in template and "{y}" in template
    x, y = tile_xy(*RUE_DE_ROME, 13)
    url = template.replace("{z}", "13").replace("{x}", str(x)).replace("{y}", str(y))
    tile = decode(http.get(url, headers=headers))
    layers = {layer["id"]: layer for layer in doc["vector_layers"]}
    assert set(layers) == set(tile) == {"hotspots"}
    fields = layers["hotspots"]["fields"]
    assert {"hex_id", "z", "gi_bin", "p", "significant"} <= set(fields)
    assert set(tile["hotspots"]["features"][0]["properties"]) <= set(fields)
    west, south, east, north = doc["bounds"]
    assert west < RUE_DE_ROME[0] < east and south < RUE_DE_ROME[1] < north
    assert 0 <= doc["minzoom"] <= doc["maxzoom"]

    events = http.get("/tiles/events.json", headers=headers_for("analyst", api_keys)).json()
    fields = events["vector_layers"][0]["fields"]
    assert {"count", "category", "occurred_at"} <= set(fields)


def test_basemap_tile(http: httpx.Client, served: Served) -> None:
    x, y = tile_xy(*RUE_DE_ROME, 12)
    tile = decode(http.get(f"/tiles/basemap/12/{x}/{y}.mvt"))
    expected = {"commune", "arrondissements", "quartiers"}
    assert set(tile) == expected | {f"{name}_labels" for name in expected}
    assert tile["commune"]["features"][0]["properties"]["code"] == "13055"
    codes = {f["properties"]["code"] for f in tile["arrondissements"]["features"]}
    assert "13201" in codes and "13206" in codes
    assert {f["geometry"]["type"] for f in tile["quartiers_labels"]["features"]} == {"Point"}
    doc = http.get("/tiles/basemap.json").json()
    # the streets are there from zoom 15 (tests/api/test_streets.py)
    assert {layer["id"] for layer in doc["vector_layers"]} == set(tile) | {"streets"}
    streets = next(layer for layer in doc["vector_layers"] if layer["id"] == "streets")
    assert streets["minzoom"] == 15


def test_etag_follows_the_data(
    http: httpx.Client, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    z = 15
    x, y = tile_xy(*RUE_DE_ROME, z)
    url = f"/tiles/events/{z}/{x}/{y}.mvt"
    headers = headers_for("analyst", api_keys)
    before = http.get(url, headers=headers)
    ids_before = {f["id"] for f in decode(before)["events"]["features"]}
    lon, lat = RUE_DE_ROME
    cells = {res: h3.str_to_int(h3.latlng_to_cell(lat, lon, res)) for res in (7, 8, 9, 10, 12)}
    with loaded_engine.begin() as conn:
        ensure_event_partitions(conn=conn, first=date(2025, 3, 1), last=date(2025, 3, 1))
        new_id = conn.execute(
            text(
                "INSERT INTO events (source_id, external_id, category, occurred_at, geom, "
                "h3_fine, h3_r7, h3_r8, h3_r9, h3_r10, location_precision) "
                "SELECT min(id), 'etag-test', 'vol', :at, "
                "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :c12, :c7, :c8, :c9, :c10, 'exact' "
                "FROM sources RETURNING id"
            ),
            {
                "at": datetime(2025, 3, 1, 12, tzinfo=UTC),
                "lon": lon,
                "lat": lat,
                **{f"c{res}": cell for res, cell in cells.items()},
            },
        ).scalar_one()
        add_missing_keys(conn=conn)
    try:
        during = http.get(url, headers=headers)
        assert during.headers["ETag"] != before.headers["ETag"]
        assert {f["id"] for f in decode(during)["events"]["features"]} == ids_before | {new_id}
        stale = http.get(url, headers={**headers, "If-None-Match": before.headers["ETag"]})
        assert stale.status_code == 200
    finally:
        with loaded_engine.begin() as conn:
            conn.execute(text("DELETE FROM events WHERE id = :i"), {"i": new_id})
    after = http.get(url, headers=headers)
    assert after.headers["ETag"] not in (before.headers["ETag"], during.headers["ETag"])
    assert {f["id"] for f in decode(after)["events"]["features"]} == ids_before
    with loaded_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == served.total


def test_public_tile_parameters(http: httpx.Client, served: Served, loaded_engine: Engine) -> None:
    x, y = tile_xy(*RUE_DE_ROME, 13)
    url = f"/tiles/counts-r8/13/{x}/{y}.mvt"
    assert http.get(url, params={"categories": "vol"}).status_code == 403
    assert http.get(url, params={"categories": "nope"}).status_code == 400
    assert http.get(url, params={"datetime": "yesterday"}).status_code == 400
    rome = h3.latlng_to_cell(RUE_DE_ROME[1], RUE_DE_ROME[0], 8)
    period = "2025-06-01T00:00:00Z/.."
    with loaded_engine.connect() as conn:
        expected = conn.execute(
            text(
                # the public's window starts with the week of 1 June 2025 (Monday 26 May)
                "SELECT count(*), count(DISTINCT date_trunc('week', occurred_at "
                "AT TIME ZONE 'Europe/Paris')) FROM events WHERE h3_r8 = :c "
                "AND category = 'depot_sauvage' AND occurred_at >= '2025-05-26T00:00:00+02:00'"
            ),
            {"c": h3.str_to_int(rome)},
        ).one()
    tile = decode(http.get(url, params={"datetime": period, "categories": "depot_sauvage"}))
    props = {f["properties"]["hex_id"]: f["properties"] for f in tile["counts-r8"]["features"]}
    assert expected[0] >= 5
    assert abs(props[rome]["count"] - expected[0]) < 5 * expected[1]
    items = http.get(
        "/collections/counts-r8/items",
        params={"hex_id": rome, "datetime": period, "categories": "depot_sauvage"},
    ).json()["features"][0]["properties"]["count"]
    assert props[rome]["count"] == items  # the same rounded figure whatever the output
    for p in props.values():
        assert p.get("count") is None or p["count"] >= 5


def test_point_tiles_keep_the_most_recent_events_up_to_the_cap(
    served: Served, loaded_engine: Engine
) -> None:
    from geotranquil.features.catalogue import SourceContext, load_catalogue
    from geotranquil.roles import Role
    from geotranquil.tiles.mvt import layer_for, render_tile

    z = 15
    x, y = tile_xy(*RUE_DE_ROME, z)
    with loaded_engine.connect() as conn:
        catalogue = load_catalogue(conn=conn)
        layer = layer_for(catalogue.collections["events"], catalogue, z)
        context = SourceContext(role=Role.ANALYST)
        data = render_tile(conn=conn, layer=layer, context=context, z=z, x=x, y=y, max_points=7)
        full = render_tile(conn=conn, layer=layer, context=context, z=z, x=x, y=y)
        latest = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT id FROM events WHERE ST_Intersects(ST_Transform(geom, 3857), "
                    f"{ENVELOPE}) ORDER BY occurred_at DESC, id LIMIT 7"
                ),
                _tile_params(z, x, y),
            )
        ]
    capped = mapbox_vector_tile.decode(data)["events"]["features"]
    assert len(mapbox_vector_tile.decode(full)["events"]["features"]) > 7
    assert sorted(f["id"] for f in capped) == sorted(latest)
