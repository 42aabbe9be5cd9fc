"""OGC API - Features over HTTP, with exact numbers from the served data set and SQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import h3
import httpx
import pytest
from openapi_spec_validator import validate
from sqlalchemy import Engine, text

from tests.api.conftest import headers_for
from tests.api.served import HOT_DUMPING, HOT_VOL, SMALL_TAGS_PUBLISHED, Served, records
from tests.integration.ingest_helpers import CHATEAU_GOMBERT, RUE_DE_ROME

GEOJSON = "application/geo+json"
LAMBERT93 = "http://www.opengis.net/def/crs/EPSG/0/2154"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
PUBLIC_IDS = {
    "counts-r7",
    "counts-r8",
    "grid-r7",
    "grid-r8",
    "grid-r9",
    "grid-r10",
    "commune",
    "arrondissements",
    "quartiers",
}
STAFF_ONLY = {"counts-r9", "counts-r10", "hotspots", "emerging", "zones"}
# a box around rue de Rome (lon, lat): its 52 background events and the 90 planted ones
ROME_BOX = (5.3770, 43.2905, 5.3810, 43.2935)
ROME_POLYGON = [
    [ROME_BOX[0], ROME_BOX[1]],
    [ROME_BOX[2], ROME_BOX[1]],
    [ROME_BOX[2], ROME_BOX[3]],
    [ROME_BOX[0], ROME_BOX[3]],
    [ROME_BOX[0], ROME_BOX[1]],
]
ROME_WKT = "POLYGON((" + ", ".join(f"{x} {y}" for x, y in ROME_POLYGON) + "))"


def _count(engine: Engine, where: str, **params: Any) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(text(f"SELECT count(*) FROM events WHERE {where}"), params).scalar_one()
        )


def _items(
    http: httpx.Client, collection: str, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    r = http.get(f"/collections/{collection}/items", params=params, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(GEOJSON)
    body: dict[str, Any] = r.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == len(body["features"])
    return body


def _matched(http: httpx.Client, headers: dict[str, str], **params: Any) -> int:
    """numberMatched of an events request (a page of one feature asks for the full count)."""
    return int(_items(http, "events", headers, limit=1, **params)["numberMatched"])


@pytest.fixture
def analyst(api_keys: dict[str, str]) -> dict[str, str]:
    return headers_for("analyst", api_keys)


# --- landing, conformance, collections -----------------------------------------------------------


def test_landing_page_links(http: httpx.Client, served: Served, server_url: str) -> None:
    r = http.get("/")
    assert r.status_code == 200
    links = {link["rel"]: link for link in r.json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(links)
    assert links["service-desc"]["type"].startswith("application/vnd.oai.openapi+json")
    for rel in ("self", "service-desc", "conformance", "data"):
        href = links[rel]["href"]
        assert href.startswith(server_url)
        assert http.get(href).status_code == 200, rel
    assert http.get(links["data"]["href"]).json()["collections"]


def test_conformance_classes(http: httpx.Client) -> None:
    classes = set(http.get("/conformance").json()["conformsTo"])
    assert {
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
        "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
        "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    } <= classes


def test_openapi_document_is_valid(http: httpx.Client) -> None:
    r = http.get("/api")
    assert r.status_code == 200
    spec = r.json()
    validate(spec)
    for path in (
        "/collections",
        "/collections/{collection_id}/items",
        "/collections/{collection_id}/items/{feature_id}",
        "/tiles/{layer}/{z}/{x}/{y}.mvt",
    ):
        assert path in spec["paths"]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("public", PUBLIC_IDS),
        ("partner", PUBLIC_IDS),
        ("planner", PUBLIC_IDS | STAFF_ONLY),
        ("analyst", PUBLIC_IDS | STAFF_ONLY | {"events"}),
        ("admin", PUBLIC_IDS | STAFF_ONLY | {"events"}),
    ],
)
def test_collections_by_role(
    http: httpx.Client,
    served: Served,
    api_keys: dict[str, str],
    role: str,
    expected: set[str],
) -> None:
    body = http.get("/collections", headers=headers_for(role, api_keys)).json()
    ids = [c["id"] for c in body["collections"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
    for c in body["collections"]:
        rels = {link["rel"] for link in c["links"]}
        assert "items" in rels


@pytest.mark.parametrize(
    ("role", "status"),
    [("public", 401), ("partner", 403), ("planner", 403), ("analyst", 200), ("admin", 200)],
)
def test_events_collection_access(
    http: httpx.Client, served: Served, api_keys: dict[str, str], role: str, status: int
) -> None:
    headers = headers_for(role, api_keys)
    for path in (
        "/collections/events",
        "/collections/events/items",
        "/collections/events/queryables",
    ):
        r = http.get(path, headers=headers)
        assert r.status_code == status, path
        if status != 200:
            assert r.json()["description"]
    if status == 401:
        assert "X-API-Key" in http.get("/collections/events").headers["WWW-Authenticate"]


def test_collection_description(
    http: httpx.Client, served: Served, analyst: dict[str, str], loaded_engine: Engine
) -> None:
    body = http.get("/collections/events", headers=analyst).json()
    assert body["id"] == "events"
    assert LAMBERT93 in body["crs"]
    interval = body["extent"]["temporal"]["interval"][0]
    with loaded_engine.connect() as conn:
        first, last = conn.execute(
            text("SELECT min(occurred_at), max(occurred_at) FROM events")
        ).one()
    assert first.isoformat() == "2025-01-06T09:00:00+00:00"  # the first Monday, 9 h UTC
    assert interval == [
        first.isoformat().replace("+00:00", "Z"),
        last.isoformat().replace("+00:00", "Z"),
    ]
    hot = http.get("/collections/hotspots", headers=analyst).json()
    assert hot["run_id"] == served.gi_run
    assert hot["h3_resolution"] == 9
    queryables = http.get("/collections/events/queryables", headers=analyst)
    assert queryables.headers["content-type"].startswith("application/schema+json")
    props = queryables.json()["properties"]
    assert props["occurred_at"] == {
        "title": "Date et heure des faits",
        "type": "string",
        "format": "date-time",
    }
    assert props["category"]["type"] == "string"


# --- paging --------------------------------------------------------------------------------------


def test_paging_follows_next_links(
    http: httpx.Client, served: Served, analyst: dict[str, str]
) -> None:
    body = _items(http, "events", analyst, limit=100)
    assert body["numberMatched"] == 405
    assert body["numberReturned"] == 100
    ids = [f["id"] for f in body["features"]]
    pages = 1
    while True:
        links = {link["rel"]: link["href"] for link in body["links"]}
        if "next" not in links:
            break
        assert "after=" in links["next"] and "offset=" not in links["next"]  # keyset paging
        r = http.get(links["next"], headers=analyst)
        assert r.status_code == 200
        body = r.json()
        assert body["numberMatched"] == 405
        ids += [f["id"] for f in body["features"]]
        pages += 1
    assert pages == 5
    assert body["numberReturned"] == 5
    assert len(ids) == 405
    assert len(set(ids)) == 405
    assert ids == sorted(ids)  # stable order: by id


def test_keyset_and_offset_paging_agree_and_after_is_checked(
    http: httpx.Client, served: Served, analyst: dict[str, str]
) -> None:
    by_offset = _items(http, "events", analyst, limit=7, offset=21)
    third = _items(http, "events", analyst, limit=21)
    cursor = third["features"][-1]["id"]
    by_cursor = _items(http, "events", analyst, limit=7, after=str(cursor))
    assert [f["id"] for f in by_cursor["features"]] == [f["id"] for f in by_offset["features"]]
    assert by_cursor["numberMatched"] == by_offset["numberMatched"] == 405
    assert "prev" in {link["rel"] for link in by_offset["links"]}  # offset pages keep prev
    # a sorted listing pages by offset (a cursor follows the id order only)
    sorted_page = _items(http, "events", analyst, limit=100, sortby="-category")
    nxt = {link["rel"]: link["href"] for link in sorted_page["links"]}["next"]
    assert "offset=100" in nxt and "after=" not in nxt
    for params, message in (
        ({"after": "12", "sortby": "category"}, "sans sortby"),
        ({"after": "12", "offset": "5"}, "l'un ou l'autre"),
        ({"after": "x" * 201}, "au plus 200"),
    ):
        r = http.get("/collections/events/items", params=params, headers=analyst)
        assert r.status_code == 400 and message in r.json()["description"], r.text
    r = http.get("/collections/events/items", params={"after": "douze"}, headers=analyst)
    assert r.status_code == 400  # not an event id
    # hexagon ids are text: the cursor follows their order too
    first = _items(http, "grid-r10", {}, limit=5, properties="hex_id")
    rest = _items(
        http, "grid-r10", {}, limit=5, properties="hex_id", after=first["features"][-1]["id"]
    )
    both = _items(http, "grid-r10", {}, limit=10, properties="hex_id")
    assert [f["id"] for f in first["features"] + rest["features"]] == [
        f["id"] for f in both["features"]
    ]


def test_limit_is_capped_not_refused(
    http: httpx.Client, served: Served, settings: Any, loaded_engine: Engine
) -> None:
    maximum = settings.items_limit_max
    with loaded_engine.connect() as conn:
        cells = conn.execute(
            text("SELECT count(*) FROM grid_cells WHERE resolution = 10")
        ).scalar_one()
    assert cells > maximum
    body = _items(http, "grid-r10", {}, limit=maximum * 2, properties="hex_id")
    assert body["numberReturned"] == maximum
    assert body["numberMatched"] == cells
    assert "next" in {link["rel"] for link in body["links"]}
    assert len({f["id"] for f in body["features"]}) == maximum


def test_default_limit(
    http: httpx.Client, served: Served, analyst: dict[str, str], settings: Any
) -> None:
    body = _items(http, "events", analyst)
    assert body["numberReturned"] == settings.items_limit_default


# --- bbox, datetime, properties, sortby ----------------------------------------------------------


def test_bbox_counts(
    http: httpx.Client, served: Served, analyst: dict[str, str], loaded_engine: Engine
) -> None:
    box = dict(zip(("x0", "y0", "x1", "y1"), ROME_BOX, strict=True))
    expected = _count(
        loaded_engine, "ST_Intersects(geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))", **box
    )
    assert expected == 52 + HOT_VOL + HOT_DUMPING
    bbox = ",".join(str(v) for v in ROME_BOX)
    assert _matched(http, analyst, bbox=bbox) == expected
    body = _items(http, "events", analyst, bbox=bbox, limit=1000)
    for f in body["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert ROME_BOX[0] <= lon <= ROME_BOX[2] and ROME_BOX[1] <= lat <= ROME_BOX[3]
    # EPSG:4326 as a URI: latitude first
    latlon = f"{ROME_BOX[1]},{ROME_BOX[0]},{ROME_BOX[3]},{ROME_BOX[2]}"
    assert _matched(http, analyst, bbox=latlon, **{"bbox-crs": EPSG4326}) == expected
    # the whole city, and nothing in the sea
    assert _matched(http, analyst, bbox="5.2,43.1,5.6,43.45") == served.total
    assert _items(http, "events", analyst, bbox="5.0,43.0,5.1,43.1")["numberMatched"] == 0


def test_bbox_in_lambert93(
    http: httpx.Client, served: Served, analyst: dict[str, str], loaded_engine: Engine
) -> None:
    with loaded_engine.connect() as conn:
        x, y = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) "
                "FROM ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), 4326), 2154) AS p"
            ),
            {"x": RUE_DE_ROME[0], "y": RUE_DE_ROME[1]},
        ).one()
    box = (round(x - 300), round(y - 300), round(x + 300), round(y + 300))
    expected = _count(
        loaded_engine,
        "ST_Intersects(ST_Transform(geom, 2154), ST_MakeEnvelope(:x0, :y0, :x1, :y1, 2154))",
        **dict(zip(("x0", "y0", "x1", "y1"), box, strict=True)),
    )
    assert expected == 142  # rue de Rome's events, 52 + 90; Castellane is 700 m away
    got = _matched(http, analyst, bbox=",".join(map(str, box)), **{"bbox-crs": "EPSG:2154"})
    assert got == expected
    also = _matched(http, analyst, bbox=",".join(map(str, box)), **{"bbox-crs": LAMBERT93})
    assert also == expected


@pytest.mark.parametrize(
    ("value", "where"),
    [
        # an instant: the first background event
        ("2025-01-06T09:00:00Z", "occurred_at = '2025-01-06T09:00:00Z'"),
        # a closed interval, both ends included
        (
            "2025-02-01T00:00:00Z/2025-02-28T09:00:00Z",
            "occurred_at BETWEEN '2025-02-01T00:00:00Z' AND '2025-02-28T09:00:00Z'",
        ),
        # open intervals
        ("2025-06-01T00:00:00Z/..", "occurred_at >= '2025-06-01T00:00:00Z'"),
        ("../2025-01-31T23:59:59Z", "occurred_at <= '2025-01-31T23:59:59Z'"),
        # dates: whole days of Marseille's time zone (DST starts on 30 March 2025)
        (
            "2025-03-01/2025-03-31",
            "occurred_at >= '2025-03-01T00:00:00+01:00' "
            "AND occurred_at < '2025-04-01T00:00:00+02:00'",
        ),
        (
            "2025-01-07",
            "occurred_at >= '2025-01-07T00:00:00+01:00' "
            "AND occurred_at < '2025-01-08T00:00:00+01:00'",
        ),
    ],
)
def test_datetime_counts(
    http: httpx.Client,
    served: Served,
    analyst: dict[str, str],
    loaded_engine: Engine,
    value: str,
    where: str,
) -> None:
    expected = _count(loaded_engine, where)
    assert 0 < expected < served.total
    assert _matched(http, analyst, datetime=value) == expected


def test_datetime_bounds_are_exact(
    http: httpx.Client, served: Served, analyst: dict[str, str], loaded_engine: Engine
) -> None:
    with loaded_engine.connect() as conn:
        instant, n = conn.execute(
            text(
                "SELECT occurred_at, count(*) FROM events WHERE occurred_at >= '2025-02-20' "
                "GROUP BY 1 ORDER BY 1 LIMIT 1"
            )
        ).one()
    stamp = instant.isoformat().replace("+00:00", "Z")
    earlier = (instant - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    assert _matched(http, analyst, datetime=stamp) == n
    # the end of an interval is included, to the microsecond
    closed = _matched(http, analyst, datetime=f"2025-02-01T00:00:00Z/{stamp}")
    before = _matched(http, analyst, datetime=f"2025-02-01T00:00:00Z/{earlier}")
    assert closed == before + n
    assert _matched(http, analyst, datetime=f"{stamp}/..") == _count(
        loaded_engine, "occurred_at >= :t", t=instant
    )


def test_property_filter(
    http: httpx.Client, served: Served, analyst: dict[str, str], loaded_engine: Engine
) -> None:
    expected = _count(loaded_engine, "category = 'vol'")
    assert expected == HOT_VOL + 26  # the planted thefts and one background slot a week
    body = _items(http, "events", analyst, category="vol", limit=1000)
    assert body["numberMatched"] == expected
    assert {f["properties"]["category"] for f in body["features"]} == {"vol"}
    both = _matched(http, analyst, category="vol", datetime="2025-06-01T00:00:00Z/..")
    assert both == _count(
        loaded_engine, "category = 'vol' AND occurred_at >= '2025-06-01T00:00:00Z'"
    )
    assert _matched(http, analyst, category="nothing") == 0


def test_sortby_descending(
    http: httpx.Client, served: Served, analyst: dict[str, str], loaded_engine: Engine
) -> None:
    body = _items(http, "events", analyst, sortby="-occurred_at", limit=1000)
    with loaded_engine.connect() as conn:
        expected = [
            r[0] for r in conn.execute(text("SELECT id FROM events ORDER BY occurred_at DESC, id"))
        ]
    assert [f["id"] for f in body["features"]] == expected
    with loaded_engine.connect() as conn:
        first, last = conn.execute(
            text("SELECT min(occurred_at), max(occurred_at) FROM events")
        ).one()
    newest = body["features"][0]["properties"]["occurred_at"]
    assert newest.replace("Z", "+00:00") == last.isoformat()
    ascending = _items(http, "events", analyst, sortby="+occurred_at", limit=1)
    oldest = ascending["features"][0]["properties"]["occurred_at"]
    assert oldest.replace("Z", "+00:00") == first.isoformat()
    two = _items(http, "events", analyst, sortby="category,-id", limit=1000)
    with loaded_engine.connect() as conn:
        expected = [
            r[0] for r in conn.execute(text("SELECT id FROM events ORDER BY category, id DESC"))
        ]
    assert [f["id"] for f in two["features"]] == expected


def test_properties_selection(http: httpx.Client, served: Served, analyst: dict[str, str]) -> None:
    body = _items(http, "events", analyst, properties="category", limit=10)
    assert len(body["features"]) == 10
    for f in body["features"]:
        assert set(f["properties"]) == {"category"}
        assert f["geometry"]["type"] == "Point"


# --- CQL2 filters --------------------------------------------------------------------------------


def test_cql2_text_filters(
    http: httpx.Client, served: Served, analyst: dict[str, str], loaded_engine: Engine
) -> None:
    box = dict(zip(("x0", "y0", "x1", "y1"), ROME_BOX, strict=True))
    in_box = "ST_Intersects(geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))"
    spatial = _matched(http, analyst, filter=f"S_INTERSECTS(geometry, {ROME_WKT})")
    assert spatial == _count(loaded_engine, in_box, **box) == 142
    temporal = _matched(
        http, analyst, filter="T_AFTER(occurred_at, TIMESTAMP('2025-06-01T00:00:00Z'))"
    )
    assert temporal == _count(loaded_engine, "occurred_at > '2025-06-01T00:00:00Z'")
    both = _matched(
        http,
        analyst,
        filter=(
            f"S_INTERSECTS(geometry, {ROME_WKT}) AND category = 'vol' "
            "AND T_AFTER(occurred_at, TIMESTAMP('2025-06-15T00:00:00Z'))"
        ),
        **{"filter-lang": "cql2-text"},
    )
    expected = _count(
        loaded_engine,
        f"{in_box} AND category = 'vol' AND occurred_at > '2025-06-15T00:00:00Z'",
        **box,
    )
    assert 0 < expected < HOT_VOL
    assert both == expected
    ors = _matched(http, analyst, filter="category IN ('vol', 'depot_sauvage')")
    assert ors == _count(loaded_engine, "category IN ('vol', 'depot_sauvage')")


def test_cql2_json_filters(
    http: httpx.Client, served: Served, analyst: dict[str, str], loaded_engine: Engine
) -> None:
    box = dict(zip(("x0", "y0", "x1", "y1"), ROME_BOX, strict=True))
    polygon = {"type": "Polygon", "coordinates": [ROME_POLYGON]}
    cql = {
        "op": "and",
        "args": [
            {"op": "s_intersects", "args": [{"property": "geometry"}, polygon]},
            {
                "op": "t_after",
                "args": [{"property": "occurred_at"}, {"timestamp": "2025-06-15T00:00:00Z"}],
            },
        ],
    }
    got = _matched(http, analyst, filter=json.dumps(cql), **{"filter-lang": "cql2-json"})
    expected = _count(
        loaded_engine,
        "ST_Intersects(geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)) "
        "AND occurred_at > '2025-06-15T00:00:00Z'",
        **box,
    )
    assert 0 < expected < 142
    assert got == expected
    eq = {"op": "=", "args": [{"property": "category"}, "depot_sauvage"]}
    assert _matched(http, analyst, filter=json.dumps(eq), **{"filter-lang": "cql2-json"}) == (
        _count(loaded_engine, "category = 'depot_sauvage'")
    )


# --- CRS -----------------------------------------------------------------------------------------


def test_crs_lambert93(
    http: httpx.Client, served: Served, analyst: dict[str, str], loaded_engine: Engine
) -> None:
    r = http.get(
        "/collections/events/items", params={"crs": "EPSG:2154", "limit": 50}, headers=analyst
    )
    assert r.status_code == 200
    assert r.headers["Content-Crs"] == f"<{LAMBERT93}>"
    features = r.json()["features"]
    with loaded_engine.connect() as conn:
        truth = {
            row[0]: (row[1], row[2])
            for row in conn.execute(
                text(
                    "SELECT id, ST_X(ST_Transform(geom, 2154)), ST_Y(ST_Transform(geom, 2154)) "
                    "FROM events ORDER BY id LIMIT 50"
                )
            )
        }
    assert [f["id"] for f in features] == list(truth)
    for f in features:
        x, y = f["geometry"]["coordinates"]
        assert abs(x - truth[f["id"]][0]) < 0.01
        assert abs(y - truth[f["id"]][1]) < 0.01
    one = http.get(
        f"/collections/events/items/{features[0]['id']}?crs={LAMBERT93}", headers=analyst
    )
    assert one.headers["Content-Crs"] == f"<{LAMBERT93}>"
    assert one.json()["geometry"]["coordinates"] == features[0]["geometry"]["coordinates"]


def test_crs_epsg4326_is_lat_lon(
    http: httpx.Client, served: Served, analyst: dict[str, str], loaded_engine: Engine
) -> None:
    r = http.get("/collections/events/items", params={"crs": EPSG4326, "limit": 5}, headers=analyst)
    assert r.status_code == 200
    assert r.headers["Content-Crs"] == f"<{EPSG4326}>"
    default = _items(http, "events", analyst, limit=5)
    with loaded_engine.connect() as conn:
        truth = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM events ORDER BY id LIMIT 5")
        ).all()
    for f, g, (lon, lat) in zip(r.json()["features"], default["features"], truth, strict=True):
        assert f["geometry"]["coordinates"] == pytest.approx([lat, lon], abs=1e-7)
        assert g["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-7)
    plain = http.get("/collections/events/items", params={"limit": 1}, headers=analyst)
    assert plain.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"foo": "1"},
        {"limit": "abc"},
        {"limit": "0"},
        {"limit": "-5"},
        {"offset": "-1"},
        {"bbox": "5.3,43.2,5.4"},
        {"bbox": "a,b,c,d"},
        {"bbox": "5.4,43.2,5.3,43.3"},
        {"bbox": "5.3,43.2,5.4,43.3", "bbox-crs": "EPSG:9999"},
        {"datetime": "yesterday"},
        {"datetime": "2025-13-01"},
        {"datetime": "../.."},
        {"datetime": "2025-03-01/2025-02-01"},
        {"sortby": "nope"},
        {"sortby": "-nope"},
        {"properties": "nope"},
        {"filter": "category = "},
        {"filter": "category === 'vol'"},
        {"filter": "nope = 1"},
        {"filter": "S_INTERSECTS(geometry, POLYGON((1 2, 3)))"},
        {"filter": "{not json", "filter-lang": "cql2-json"},
        {"filter": "category = 'vol'", "filter-lang": "ecql"},
        {"crs": "EPSG:9999"},
        {"crs": "nonsense"},
        {"f": "shapefile"},
        {"id": "abc"},
    ],
)
def test_bad_items_requests_are_400(
    http: httpx.Client, served: Served, analyst: dict[str, str], params: dict[str, str]
) -> None:
    r = http.get("/collections/events/items", params=params, headers=analyst)
    assert r.status_code in (400, 422), (params, r.status_code, r.text[:300])
    body = r.json()
    assert body["description"]
    assert "Traceback" not in r.text


def test_repeated_parameter_is_400(
    http: httpx.Client, served: Served, analyst: dict[str, str]
) -> None:
    r = http.get("/collections/events/items?limit=5&limit=6", headers=analyst)
    assert r.status_code == 400
    assert "limit" in r.json()["description"]


def test_unknown_collection_is_404(http: httpx.Client, served: Served) -> None:
    assert http.get("/collections/nope").status_code == 404
    assert http.get("/collections/nope/items").status_code == 404
    assert http.get("/collections/run-999999/items").status_code in (401, 404)


def test_one_item(
    http: httpx.Client, served: Served, analyst: dict[str, str], loaded_engine: Engine
) -> None:
    with loaded_engine.connect() as conn:
        fid, category, lon, lat = conn.execute(
            text(
                "SELECT id, category, ST_X(geom), ST_Y(geom) FROM events "
                "WHERE category = 'vol' ORDER BY id LIMIT 1"
            )
        ).one()
    r = http.get(f"/collections/events/items/{fid}", headers=analyst)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(GEOJSON)
    body = r.json()
    assert body["type"] == "Feature"
    assert body["id"] == fid
    assert body["properties"]["category"] == category
    assert body["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-7)
    assert {link["rel"] for link in body["links"]} >= {"self", "collection"}
    for missing in ("999999999", "abc", "-1", "1.5"):
        r = http.get(f"/collections/events/items/{missing}", headers=analyst)
        assert r.status_code == 404, missing
        assert r.json()["description"]
    assert http.get(f"/collections/events/items/{fid}").status_code == 401
    assert http.get(f"/collections/events/items/{fid}?foo=1", headers=analyst).status_code == 400
    cell = h3.latlng_to_cell(RUE_DE_ROME[1], RUE_DE_ROME[0], 9)
    hot = http.get(f"/collections/hotspots/items/{cell}", headers=analyst)
    assert hot.status_code == 200
    assert hot.json()["properties"]["gi_bin"] == 3


# --- counts collections --------------------------------------------------------------------------


def _all_features(
    http: httpx.Client, collection: str, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    body = _items(http, collection, headers, limit=10_000, **params)
    assert body["numberMatched"] == body["numberReturned"]
    return list(body["features"])


def test_counts_r9_for_analyst(
    http: httpx.Client, served: Served, analyst: dict[str, str], loaded_engine: Engine
) -> None:
    features = _all_features(http, "counts-r9", analyst)
    with loaded_engine.connect() as conn:
        cells = conn.execute(
            text("SELECT count(*) FROM grid_cells WHERE resolution = 9")
        ).scalar_one()
        located = conn.execute(
            text("SELECT count(*) FROM events WHERE h3_r9 IS NOT NULL")
        ).scalar_one()
    assert len(features) == cells
    assert located == served.total
    assert sum(f["properties"]["count"] for f in features) == served.total
    rome = h3.latlng_to_cell(RUE_DE_ROME[1], RUE_DE_ROME[0], 9)
    by_cell = {f["properties"]["hex_id"]: f["properties"] for f in features}
    background_vols = sum(
        1
        for rec in records()
        if rec["description"] == "fond"
        and rec["category"] == "vol"
        and h3.latlng_to_cell(float(rec["lat"]), float(rec["lon"]), 9) == rome  # type: ignore[arg-type]
    )
    assert by_cell[rome]["n_vol"] == background_vols + HOT_VOL
    assert by_cell[rome]["n_depot_sauvage"] == _count(
        loaded_engine, "h3_r9 = :c AND category = 'depot_sauvage'", c=h3.str_to_int(rome)
    )
    assert by_cell[rome]["count"] == _count(loaded_engine, "h3_r9 = :c", c=h3.str_to_int(rome))
    per_category = sum(v for k, v in by_cell[rome].items() if k.startswith("n_"))
    assert per_category == by_cell[rome]["count"]
    # the same cell through a property filter, with datetime choosing the events counted
    period = "2025-06-01T00:00:00Z/.."
    one = _items(http, "counts-r9", analyst, hex_id=rome, datetime=period)
    assert one["numberMatched"] == 1
    props = one["features"][0]["properties"]
    assert props["count"] == _count(
        loaded_engine,
        "h3_r9 = :c AND occurred_at >= '2025-06-01T00:00:00Z'",
        c=h3.str_to_int(rome),
    )
    assert props["count"] < by_cell[rome]["count"]
    later = _all_features(http, "counts-r9", analyst, datetime=period)
    assert len(later) == cells  # datetime selects events, not cells
    assert sum(f["properties"]["count"] for f in later) == _count(
        loaded_engine, "occurred_at >= '2025-06-01T00:00:00Z'"
    )
    vols = _all_features(http, "counts-r9", analyst, categories="vol")
    assert sum(f["properties"]["count"] for f in vols) == _count(loaded_engine, "category = 'vol'")


def test_public_counts_r8(
    http: httpx.Client, served: Served, loaded_engine: Engine, settings: Any
) -> None:
    """The public's counts: public categories only, each hexagon a sum of weekly atoms
    randomly rounded to multiples of 5 (so within 5 per atom of the truth), its total the
    sum of its categories (features/disclosure.py; the attacks are in test_disclosure_attacks)."""
    features = _all_features(http, "counts-r8", {})
    with loaded_engine.connect() as conn:
        private = {r[0] for r in conn.execute(text("SELECT code FROM categories WHERE NOT public"))}
        truth = {
            r[0]: (r[1], r[2], r[3])
            for r in conn.execute(
                text(
                    "SELECT lower(to_hex(g.h3)), count(e.id), "
                    "count(e.id) FILTER (WHERE c.public), "
                    "count(DISTINCT (e.category, date_trunc('week', e.occurred_at "
                    "AT TIME ZONE 'Europe/Paris'))) FILTER (WHERE c.public) FROM grid_cells g "
                    "LEFT JOIN events e ON e.h3_r8 = g.h3 "
                    "LEFT JOIN categories c ON c.code = e.category "
                    "WHERE g.resolution = 8 GROUP BY 1"
                )
            )
        }
    assert private == {"rixe_violence", "trafic_stupefiants", "vol"}
    assert {f["properties"]["hex_id"] for f in features} == set(truth)
    threshold = settings.public_min_count
    shown = 0
    for f in features:
        props = f["properties"]
        _, public_count, atoms = truth[props["hex_id"]]
        for code in private:  # hidden: absent or null
            assert props.get(f"n_{code}") is None
        published = props["count"] or 0
        assert published % 5 == 0
        assert abs(published - public_count) < 5 * max(atoms, 1) or published == public_count == 0
        parts = [v for k, v in props.items() if k.startswith("n_") and v is not None]
        assert sum(parts) == published
        if published < threshold:
            assert props["count"] is None
            assert props["rate_per_1000"] is None
        else:
            shown += 1
        for name, value in props.items():
            if name.startswith("n_") and value is not None:
                assert value >= threshold
    assert shown >= 5  # the busy places are visible
    rome = h3.latlng_to_cell(RUE_DE_ROME[1], RUE_DE_ROME[0], 8)
    rome_props = next(f["properties"] for f in features if f["properties"]["hex_id"] == rome)
    total, public_count, atoms = truth[rome]
    assert public_count == total - HOT_VOL
    assert abs(rome_props["count"] - public_count) < 5 * atoms
    with loaded_engine.connect() as conn:
        dumping, dumping_atoms = conn.execute(
            text(
                "SELECT count(*), count(DISTINCT date_trunc('week', occurred_at "
                "AT TIME ZONE 'Europe/Paris')) FROM events "
                "WHERE h3_r8 = :c AND category = 'depot_sauvage'"
            ),
            {"c": h3.str_to_int(rome)},
        ).one()
    assert dumping >= HOT_DUMPING
    assert abs(rome_props["n_depot_sauvage"] - dumping) < 5 * dumping_atoms
    gombert = h3.latlng_to_cell(CHATEAU_GOMBERT[1], CHATEAU_GOMBERT[0], 8)
    assert truth[gombert][:2] == (3, 3)
    gombert_props = next(f["properties"] for f in features if f["properties"]["hex_id"] == gombert)
    # three tags in three weeks: three atoms of 1, each published as 0 or 5; never 3
    assert gombert_props["count"] in SMALL_TAGS_PUBLISHED
    assert gombert_props["n_tag_graffiti"] == gombert_props["count"]


def test_counts_access_and_categories(
    http: httpx.Client, served: Served, api_keys: dict[str, str]
) -> None:
    r = http.get("/collections/counts-r8/items", params={"categories": "vol"})
    assert r.status_code == 403
    assert "vol" in r.json()["description"]
    r = http.get(
        "/collections/counts-r8/items",
        params={"categories": "vol"},
        headers=headers_for("partner", api_keys),
    )
    assert r.status_code == 403
    r = http.get("/collections/counts-r8/items", params={"categories": "depot_sauvage", "limit": 1})
    assert r.status_code == 200
    assert (
        http.get("/collections/counts-r8/items", params={"categories": "nope"}).status_code == 400
    )
    assert http.get("/collections/counts-r9/items").status_code == 401
    assert http.get("/collections/counts-r9").status_code == 401
    r = http.get("/collections/counts-r9/items", headers=headers_for("partner", api_keys))
    assert r.status_code == 403
    r = http.get(
        "/collections/counts-r9/items",
        params={"limit": 1},
        headers=headers_for("planner", api_keys),
    )
    assert r.status_code == 200


def test_public_counts_export_respects_suppression(http: httpx.Client, served: Served) -> None:
    r = http.get("/collections/counts-r8/export", params={"f": "csv", "geometry": "none"})
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text)))
    gombert = h3.latlng_to_cell(CHATEAU_GOMBERT[1], CHATEAU_GOMBERT[0], 8)
    row = next(r for r in rows if r["hex_id"] == gombert)
    assert (int(row["count"]) if row["count"] else None) in SMALL_TAGS_PUBLISHED
    assert all(r.get("n_vol", "") == "" for r in rows)


# --- H3 rows -------------------------------------------------------------------------------------


def test_h3_rows_of_hotspots(
    http: httpx.Client, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    headers = headers_for("planner", api_keys)
    with loaded_engine.connect() as conn:
        truth = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                text("SELECT lower(to_hex(h3)), z, gi_bin FROM hotspot_cells WHERE run_id = :run"),
                {"run": served.gi_run},
            )
        }
    assert len(truth) > 1000
    r = http.get("/collections/hotspots/h3", params={"f": "json"}, headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    rows = r.json()
    assert len(rows) == len(truth)
    assert {row["hex_id"] for row in rows} == set(truth)
    for row in rows:
        assert h3.is_valid_cell(row["hex_id"])
        assert h3.get_resolution(row["hex_id"]) == 9
        z, gi_bin = truth[row["hex_id"]]
        assert row["z"] == pytest.approx(z, rel=1e-12, abs=1e-12)
        assert row["gi_bin"] == gi_bin
        assert "geometry" not in row
    rome = h3.latlng_to_cell(RUE_DE_ROME[1], RUE_DE_ROME[0], 9)
    assert next(row for row in rows if row["hex_id"] == rome)["gi_bin"] == 3

    r = http.get("/collections/hotspots/h3", params={"f": "csv"}, headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    csv_rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(csv_rows) == len(truth)
    assert next(iter(csv_rows[0])) == "hex_id"
    for row in csv_rows:
        assert h3.is_valid_cell(row["hex_id"])
        z, gi_bin = truth[row["hex_id"]]
        assert int(row["gi_bin"]) == gi_bin
        assert float(row["z"]) == pytest.approx(z, rel=1e-9, abs=1e-9)

    hot = http.get(
        "/collections/hotspots/h3",
        params={"f": "json", "filter": "gi_bin = 3", "properties": "z"},
        headers=headers,
    ).json()
    assert {row["hex_id"] for row in hot} == {h for h, (_, b) in truth.items() if b == 3}
    assert set(hot[0]) == {"hex_id", "z"}
    assert http.get("/collections/hotspots/h3").status_code == 401
    assert http.get("/collections/quartiers/h3", headers=headers).status_code == 400  # not hexagons


# --- more paging, formats and views -------------------------------------------------------------


def test_next_links_keep_the_filters(
    http: httpx.Client, served: Served, analyst: dict[str, str], loaded_engine: Engine
) -> None:
    expected = _count(loaded_engine, "category = 'vol'")
    body = _items(http, "events", analyst, category="vol", limit=30)
    ids = [f["id"] for f in body["features"]]
    while (nxt := {link["rel"]: link["href"] for link in body["links"]}.get("next")) is not None:
        r = http.get(nxt, headers=analyst)
        assert r.status_code == 200
        body = r.json()
        assert {f["properties"]["category"] for f in body["features"]} == {"vol"}
        ids += [f["id"] for f in body["features"]]
    assert len(ids) == len(set(ids)) == expected
    beyond = _items(http, "events", analyst, offset=served.total + 10, limit=10)
    assert beyond["numberReturned"] == 0
    assert beyond["numberMatched"] == served.total
    assert "next" not in {link["rel"] for link in beyond["links"]}


def test_items_as_csv_page(
    http: httpx.Client, served: Served, analyst: dict[str, str], loaded_engine: Engine
) -> None:
    r = http.get(
        "/collections/events/items",
        params={"f": "csv", "limit": 25, "offset": 5, "category": "vol"},
        headers=analyst,
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    with loaded_engine.connect() as conn:
        expected = [
            r[0]
            for r in conn.execute(
                text("SELECT id FROM events WHERE category = 'vol' ORDER BY id LIMIT 25 OFFSET 5")
            )
        ]
    assert [int(row["id"]) for row in rows] == expected
    assert rows[0]["wkt"].startswith("POINT")


def test_crs_web_mercator(
    http: httpx.Client, served: Served, analyst: dict[str, str], loaded_engine: Engine
) -> None:
    r = http.get(
        "/collections/events/items",
        params={"crs": "http://www.opengis.net/def/crs/EPSG/0/3857", "limit": 3},
        headers=analyst,
    )
    assert r.status_code == 200
    assert r.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/3857>"
    with loaded_engine.connect() as conn:
        truth = conn.execute(
            text(
                "SELECT ST_X(ST_Transform(geom, 3857)), ST_Y(ST_Transform(geom, 3857)) "
                "FROM events ORDER BY id LIMIT 3"
            )
        ).all()
    for f, (x, y) in zip(r.json()["features"], truth, strict=True):
        assert f["geometry"]["coordinates"] == pytest.approx([x, y], abs=0.01)


def test_partner_sees_what_the_public_sees(
    http: httpx.Client, served: Served, api_keys: dict[str, str]
) -> None:
    gombert = h3.latlng_to_cell(CHATEAU_GOMBERT[1], CHATEAU_GOMBERT[0], 8)
    public = _items(http, "counts-r8", {}, hex_id=gombert)["features"][0]["properties"]["count"]
    assert public in SMALL_TAGS_PUBLISHED
    for role, expected in (("partner", public), ("planner", 3), ("analyst", 3)):
        body = _items(http, "counts-r8", headers_for(role, api_keys), hex_id=gombert)
        assert body["numberMatched"] == 1
        assert body["features"][0]["properties"]["count"] == expected, role


def test_public_cannot_filter_on_hidden_counts(
    http: httpx.Client, served: Served, loaded_engine: Engine
) -> None:
    gombert = h3.latlng_to_cell(CHATEAU_GOMBERT[1], CHATEAU_GOMBERT[0], 8)
    # filtering or sorting on a suppressed value must not reveal it
    for cql in ("count = 3", "count < 5", "n_tag_graffiti = 3", "count BETWEEN 1 AND 4"):
        r = http.get("/collections/counts-r8/items", params={"filter": cql, "limit": 1000})
        assert r.status_code in (200, 400), (cql, r.status_code)
        if r.status_code == 200:
            assert r.json()["numberMatched"] == 0, cql
    r = http.get("/collections/counts-r8/items", params={"filter": "n_vol > 0"})
    assert r.status_code in (200, 400)
    if r.status_code == 200:
        assert r.json()["numberMatched"] == 0
    rows = http.get("/collections/counts-r8/h3", params={"f": "json"}).json()
    by_cell = {row["hex_id"]: row for row in rows}
    assert by_cell[gombert]["count"] in SMALL_TAGS_PUBLISHED
    assert all(row.get("n_vol") is None for row in rows)
