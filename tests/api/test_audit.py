"""The audit trail over the real server: exact rows after reads of raw events and exports by
analysts and admins, nothing for aggregated public reads, ``GET /admin/audit`` for admins only
(JSON and CSV), key creation and revocation recorded, and never a key in the table."""

from __future__ import annotations

import csv
import getpass
import io
import json
import math

import h3
import httpx
import mapbox_vector_tile
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from geotranquil.cli.main import app
from geotranquil.config import Settings
from geotranquil.services.access import create_key, revoke_key
from tests.api.conftest import headers_for
from tests.api.served import CHATEAU_GOMBERT, HOT_VOL, RUE_DE_ROME, WEEKS, Served
from tests.audit_helpers import key_id, last_id, rows_after, table_text

ITEMS = "/collections/{collection_id}/items"
#: a box around Château-Gombert, where exactly three tags were planted
GOMBERT_BBOX = "5.449,43.359,5.451,43.361"


assert CHATEAU_GOMBERT == (5.45, 43.36)


def _scalar(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def _without_ids(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: v for k, v in r.items() if k not in ("id", "at")} for r in rows]


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def test_items_and_one_item_recorded_with_who_route_filters_bbox_rows_client(
    http: httpx.Client, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    analyst = api_keys["analyst"]
    before = last_id(loaded_engine)
    r = http.get(
        "/collections/events/items",
        params={"bbox": GOMBERT_BBOX, "limit": "10", "api_key": analyst},
    )
    assert r.status_code == 200, r.text
    features = r.json()["features"]
    assert len(features) == 3  # the planted tags
    admin = api_keys["admin"]
    one = http.get(
        f"/collections/events/items/{features[0]['id']}", headers=headers_for("admin", api_keys)
    )
    assert one.status_code == 200
    rows = rows_after(loaded_engine, before)
    assert _without_ids(rows) == [
        {
            "who": f"key:{key_id(loaded_engine, analyst)}",
            "role": "analyst",
            "action": "read_events",
            "method": "GET",
            "route": ITEMS,
            "path": "/collections/events/items",
            "filters": {"bbox": GOMBERT_BBOX, "limit": "10"},  # the key removed
            "bbox": GOMBERT_BBOX,
            "rows": 3,
            "client": "127.0.0.1",
        },
        {
            "who": f"key:{key_id(loaded_engine, admin)}",
            "role": "admin",
            "action": "read_events",
            "method": "GET",
            "route": ITEMS + "/{feature_id}",
            "path": f"/collections/events/items/{features[0]['id']}",
            "filters": {},
            "bbox": None,
            "rows": 1,
            "client": "127.0.0.1",
        },
    ]
    assert rows[0]["id"] + 1 == rows[1]["id"]
    assert analyst not in table_text(loaded_engine)


def test_exports_count_the_rows_streamed_or_written(
    http: httpx.Client, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    http.headers.update(headers_for("analyst", api_keys))
    vols = _scalar(loaded_engine, "SELECT count(*) FROM events WHERE category = 'vol'")
    assert vols == HOT_VOL + WEEKS * 6 * 2 // 12  # planted + the background's share
    before = last_id(loaded_engine)
    streamed = http.get("/collections/events/export", params={"f": "csv", "category": "vol"})
    assert streamed.status_code == 200
    assert len(list(csv.DictReader(io.StringIO(streamed.text)))) == vols
    written = http.get("/collections/events/export", params={"f": "parquet", "bbox": GOMBERT_BBOX})
    assert written.status_code == 200
    paged = http.get("/collections/events/items", params={"f": "csv", "limit": "7"})
    assert len(list(csv.DictReader(io.StringIO(paged.text)))) == 7
    rows = rows_after(loaded_engine, before)
    assert [(r["action"], r["route"], r["rows"], r["filters"], r["bbox"]) for r in rows] == [
        (
            "export",
            "/collections/{collection_id}/export",
            vols,
            {"f": "csv", "category": "vol"},
            None,
        ),
        (
            "export",
            "/collections/{collection_id}/export",
            3,
            {"f": "parquet", "bbox": GOMBERT_BBOX},
            GOMBERT_BBOX,
        ),
        ("read_events", ITEMS, 7, {"f": "csv", "limit": "7"}, None),
    ]
    assert {r["role"] for r in rows} == {"analyst"}


def test_event_point_tiles_recorded_with_their_features_counts_below_not(
    http: httpx.Client, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    http.headers.update(headers_for("analyst", api_keys))
    z = 15
    x, y = _tile_xy(*RUE_DE_ROME, z)
    truth = _scalar(
        loaded_engine,
        "SELECT count(*) FROM events WHERE ST_Intersects(ST_Transform(geom, 3857), "
        "ST_TileEnvelope(:z, :x, :y, margin => 64.0 / 4096))",
        z=z,
        x=x,
        y=y,
    )
    assert truth >= HOT_VOL
    before = last_id(loaded_engine)
    tiles = [http.get(f"/tiles/events/{z}/{x}/{y}.mvt") for _ in range(2)]  # the second cached
    decoded = mapbox_vector_tile.decode(tiles[0].content)
    assert len(decoded["events"]["features"]) == truth
    low = http.get(f"/tiles/events/12/{x >> 3}/{y >> 3}.mvt")  # hexagon counts, not events
    assert low.status_code == 200
    rows = rows_after(loaded_engine, before)
    assert [(r["action"], r["path"], r["rows"]) for r in rows] == [
        ("read_events", f"/tiles/events/{z}/{x}/{y}.mvt", truth),
        ("read_events", f"/tiles/events/{z}/{x}/{y}.mvt", truth),
    ]
    assert rows[0]["route"] == "/tiles/{layer}/{z}/{x}/{y}.mvt"
    west, south, east, north = (float(v) for v in rows[0]["bbox"].split(","))
    assert west < RUE_DE_ROME[0] < east and south < RUE_DE_ROME[1] < north
    assert round((east - west) * 2**z) == 360


def test_cell_details_recorded_only_when_they_hold_events(
    http: httpx.Client, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    cell = h3.latlng_to_cell(CHATEAU_GOMBERT[1], CHATEAU_GOMBERT[0], 8)  # its 3 tags
    before = last_id(loaded_engine)
    planner = http.get(f"/cells/{cell}", headers=headers_for("planner", api_keys))
    assert planner.status_code == 200 and "latest_events" not in planner.json()
    analyst = http.get(f"/cells/{cell}?events_limit=2", headers=headers_for("analyst", api_keys))
    assert len(analyst.json()["latest_events"]) == 2
    rows = rows_after(loaded_engine, before)
    assert [(r["role"], r["action"], r["route"], r["filters"], r["rows"]) for r in rows] == [
        ("analyst", "read_events", "/cells/{hex_id}", {"events_limit": "2"}, 2)
    ]


def test_aggregated_public_reads_are_not_recorded_public_exports_are(
    http: httpx.Client, served: Served, loaded_engine: Engine
) -> None:
    before = last_id(loaded_engine)
    x, y = _tile_xy(*RUE_DE_ROME, 12)
    for url in (
        "/collections/counts-r8/items?limit=50",
        f"/tiles/counts-r8/12/{x}/{y}.mvt",
        f"/collections/counts-r8/tiles/WebMercatorQuad/12/{y}/{x}",
        "/collections/counts-r8/h3",
        "/collections/grid-r8/items?limit=5",
        "/collections",
    ):
        assert http.get(url).status_code == 200, url
    assert http.get("/collections/events/items").status_code == 401  # nothing read
    assert rows_after(loaded_engine, before) == []
    exported = http.get("/collections/counts-r8/export", params={"f": "csv"})
    lines = list(csv.DictReader(io.StringIO(exported.text)))
    rows = rows_after(loaded_engine, before)
    assert _without_ids(rows) == [
        {
            "who": "public",
            "role": "public",
            "action": "export",
            "method": "GET",
            "route": "/collections/{collection_id}/export",
            "path": "/collections/counts-r8/export",
            "filters": {"f": "csv"},
            "bbox": None,
            "rows": len(lines),
            "client": "127.0.0.1",
        }
    ]
    assert len(lines) == _scalar(
        loaded_engine, "SELECT count(*) FROM grid_cells WHERE resolution = 8"
    )


def test_admin_audit_refused_below_admin_then_filtered_paged_and_csv(
    http: httpx.Client, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    assert http.get("/admin/audit").status_code == 401
    for role in ("analyst", "agent", "planner", "partner"):
        refused = http.get("/admin/audit", headers=headers_for(role, api_keys))
        assert refused.status_code == 403, role
        assert "admin" in refused.json()["description"]
    agent = f"key:{key_id(loaded_engine, api_keys['agent'])}"
    analyst = f"key:{key_id(loaded_engine, api_keys['analyst'])}"
    before = last_id(loaded_engine)
    for limit in ("1", "2", "3"):
        r = http.get(
            "/collections/events/items",
            params={"limit": limit},
            headers=headers_for("analyst", api_keys),
        )
        assert r.status_code == 200
    mine = rows_after(loaded_engine, before)
    since = mine[0]["at"].isoformat()
    admin = headers_for("admin", api_keys)
    query = {"who": analyst, "action": "read_events", "since": since, "route": ITEMS}
    body = http.get("/admin/audit", params=query, headers=admin).json()
    assert body["total"] == 3
    assert [i["rows"] for i in body["items"]] == [1, 2, 3]
    assert [i["filters"] for i in body["items"]] == [{"limit": "1"}, {"limit": "2"}, {"limit": "3"}]
    page = http.get("/admin/audit", params={**query, "limit": 1, "offset": 1}, headers=admin)
    assert [i["rows"] for i in page.json()["items"]] == [2]
    assert (
        http.get("/admin/audit", params={"who": agent, "since": since}, headers=admin).json()[
            "total"
        ]
        == 0
    )
    until = http.get(
        "/admin/audit",
        params={**query, "until": mine[1]["at"].isoformat()},
        headers=admin,
    ).json()
    assert [i["rows"] for i in until["items"]] == [1]
    got = http.get("/admin/audit", params={**query, "f": "csv"}, headers=admin)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(got.text)))
    assert [(r["who"], r["role"], r["action"], r["rows"]) for r in table] == [
        (analyst, "analyst", "read_events", str(n)) for n in (1, 2, 3)
    ]
    assert [json.loads(r["filters"]) for r in table] == [{"limit": str(n)} for n in (1, 2, 3)]
    assert [int(r["id"]) for r in table] == [r["id"] for r in mine]
    assert all(len(r["hash"]) == 64 for r in table)
    bad = http.get("/admin/audit", params={"since": "hier"}, headers=admin)
    assert bad.status_code == 400 and "since" in bad.json()["description"]
    nul = http.get("/admin/audit", params={"who": "key:1\x00"}, headers=admin)
    assert nul.status_code == 400 and "caractère nul" in nul.json()["description"]
    reads = rows_after(loaded_engine, mine[-1]["id"])
    admin_who = f"key:{key_id(loaded_engine, api_keys['admin'])}"
    assert [(r["who"], r["action"], r["rows"]) for r in reads] == [
        (admin_who, "read_audit", 3),
        (admin_who, "read_audit", 1),
        (admin_who, "read_audit", 0),
        (admin_who, "read_audit", 1),
        (admin_who, "read_audit", 3),
    ]


def test_keys_created_and_revoked_are_recorded_without_the_key(
    loaded_engine: Engine, settings: Settings
) -> None:
    before = last_id(loaded_engine)
    key, info = create_key(engine=loaded_engine, name="audit test", role="planner")
    revoke_key(engine=loaded_engine, key_id=info.id)
    out = CliRunner().invoke(
        app,
        ["keys", "create", "--role", "agent", "--name", "audit cli"],
        env={"GEOTRANQUIL_DATABASE_URL": settings.database_url, "COLUMNS": "200"},
    )
    assert out.exit_code == 0, out.output
    cli_key = next(line for line in out.output.splitlines() if line.startswith("gtq_"))
    rows = rows_after(loaded_engine, before)
    operator = f"cli:{getpass.getuser()}"
    cli_id = key_id(loaded_engine, cli_key)
    assert [(r["who"], r["role"], r["action"], r["filters"], r["rows"]) for r in rows] == [
        (
            operator,
            "cli",
            "key_created",
            {"key_id": info.id, "key_name": "audit test", "key_role": "planner"},
            1,
        ),
        (
            operator,
            "cli",
            "key_revoked",
            {"key_id": info.id, "key_name": "audit test", "key_role": "planner"},
            1,
        ),
        (
            operator,
            "cli",
            "key_created",
            {"key_id": cli_id, "key_name": "audit cli", "key_role": "agent"},
            1,
        ),
    ]
    stored = table_text(loaded_engine)
    for secret in (key, cli_key):
        assert secret not in stored and secret[4:14] not in stored


def test_no_key_anywhere_in_the_audit_trail(
    api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    stored = table_text(loaded_engine)
    assert stored  # the tests above wrote rows
    for key in api_keys.values():
        assert key not in stored and key[4:14] not in stored
