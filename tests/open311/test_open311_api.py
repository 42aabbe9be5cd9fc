"""Open311 GeoReport v2 over HTTP: services, requests (GET, POST), tokens, both formats.

JSON bodies are validated against the Open311 community's JSON Schemas
(``shared/data/open311``); XML bodies are parsed and checked for every required field.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest
from georeport import GeoReport
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from sqlalchemy import Engine, text

from geotranquil.grid.h3ids import FINE_RESOLUTION, cells_from_points, parent_ids
from tests.conftest import SHARED_DATA
from tests.open311.conftest import BASE, Places, file_report

SCHEMAS = SHARED_DATA / "open311"
REQUIRED_REQUEST = ("service_request_id", "status", "service_code", "requested_datetime")
REQUIRED_SERVICE = ("service_code", "service_name", "metadata", "type")


def _schemas_dir() -> Path:
    if not (SCHEMAS / "request.json").is_file():
        pytest.fail(
            f"Open311 JSON Schemas missing at {SCHEMAS}: the shared reference data are needed "
            "beside the checkout (../shared) or where GEOTRANQUIL_SHARED_DIR says"
        )
    return SCHEMAS


def validate(body: Any, schema_name: str) -> None:
    """Validate a JSON body against one of the GeoReport v2 schemas (refs resolved)."""
    folder = _schemas_dir()
    resources = {
        p.name: Resource.from_contents(
            json.loads(p.read_text("utf-8")), default_specification=DRAFT7
        )
        for p in folder.glob("*.json")
    }
    registry: Registry[Any] = Registry().with_resources(resources.items())
    schema = json.loads((folder / schema_name).read_text("utf-8"))
    errors = list(Draft7Validator(schema, registry=registry).iter_errors(body))
    assert errors == [], [e.message for e in errors[:5]]


def xml_items(response: httpx.Response, root: str, item: str) -> list[dict[str, Any]]:
    """The items of an XML list as {tag: text or element}."""
    assert response.headers["content-type"].startswith("text/xml")
    doc = ET.fromstring(response.content)
    assert doc.tag == root
    return [{child.tag: (child.text or "") for child in element} for element in doc.findall(item)]


def test_services_in_both_formats(client: httpx.Client) -> None:
    body = client.get(f"{BASE}/services.json").json()
    validate(body, "services.json")
    codes = [s["service_code"] for s in body]
    assert codes == [
        "degradation_bien_public",
        "tag_graffiti",
        "depot_sauvage",
        "nuisance_sonore",
        "eclairage_defaillant",
        "voirie_degradee",
    ]
    lighting = body[codes.index("eclairage_defaillant")]
    assert lighting["service_name"] == "Éclairage public défaillant"
    assert lighting["group"] == "Équipements et voirie" and lighting["metadata"] is True
    xml = xml_items(client.get(f"{BASE}/services.xml"), "services", "service")
    assert [s["service_code"] for s in xml] == codes
    for service in xml:
        assert all(field in service for field in (*REQUIRED_SERVICE, "description", "group"))
        assert service["metadata"] in ("true", "false") and service["type"] == "realtime"


def test_service_definition_in_both_formats(client: httpx.Client) -> None:
    body = client.get(f"{BASE}/services/eclairage_defaillant.json").json()
    validate(body, "service-definition.json")
    state = body["attributes"][0]
    assert state["code"] == "etat" and state["required"] is True
    assert [v["name"] for v in state["values"]] == ["éteinte", "clignote", "allumée en journée"]
    doc = ET.fromstring(client.get(f"{BASE}/services/eclairage_defaillant.xml").content)
    assert doc.tag == "service_definition"
    assert doc.findtext("service_code") == "eclairage_defaillant"
    attrs = doc.findall("attributes/attribute")
    assert [a.findtext("code") for a in attrs] == ["etat", "numero_candelabre"]
    for a in attrs:
        assert all(a.find(f) is not None for f in ("variable", "code", "datatype", "required"))
    assert [v.findtext("key") for v in attrs[0].findall("values/value")] == [
        "eteinte",
        "clignote",
        "allumee_jour",
    ]


def test_file_a_report_and_read_it_back(
    client: httpx.Client, keys: dict[str, str], places: Places, loaded_engine: Engine
) -> None:
    lon, lat = places.next()
    with loaded_engine.connect() as conn:
        version_before = conn.execute(text("SELECT version FROM data_version")).scalar_one()
    r = file_report(
        client,
        keys["partner"],
        service_code="eclairage_defaillant",
        lat=lat,
        long=lon,
        description="Lampadaire éteint devant le n° 12",
        **{"attribute[etat]": "eteinte", "attribute[numero_candelabre]": "C-1234"},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert len(created) == 1 and created[0]["duplicate_of"] is None
    sid, token = created[0]["service_request_id"], created[0]["token"]
    assert created[0]["service_notice"]

    one = client.get(f"{BASE}/requests/{sid}.json").json()
    validate(one, "requests.json")
    report = one[0]
    assert report["status"] == "open" and report["workflow_state"] == "received"
    assert report["service_code"] == "eclairage_defaillant"
    assert report["service_name"] == "Éclairage public défaillant"
    # the public reads the centre of its 50 m square (at most 36 m away), the day, and no
    # description until an agent publishes it (test_open311_public_view.py)
    assert (report["long"], report["lat"]) == pytest.approx((lon, lat), abs=0.0005)
    assert report["agency_responsible"] == "Ville de Marseille"
    assert report["description"] is None
    requested = datetime.fromisoformat(report["requested_datetime"])
    assert timedelta(0) <= datetime.now(UTC) - requested < timedelta(days=1, minutes=5)

    xml = xml_items(client.get(f"{BASE}/requests/{sid}.xml"), "service_requests", "request")
    assert len(xml) == 1
    assert all(xml[0][f] for f in REQUIRED_REQUEST)
    assert xml[0]["service_request_id"] == sid and float(xml[0]["lat"]) == pytest.approx(
        lat, abs=0.0005
    )

    assert client.get(f"{BASE}/tokens/{token}.json").json() == [
        {"service_request_id": sid, "token": token}
    ]
    tok = xml_items(client.get(f"{BASE}/tokens/{token}.xml"), "service_requests", "request")
    assert tok == [{"service_request_id": sid, "token": token}]

    listed = client.get(f"{BASE}/requests.json", params={"service_code": "eclairage_defaillant"})
    validate(listed.json(), "requests.json")
    assert sid in [x["service_request_id"] for x in listed.json()]

    # the event: residents' source, on the grid like an ingested event, data version bumped
    with loaded_engine.connect() as conn:
        event = conn.execute(
            text(
                "SELECT s.slug, e.category, ST_X(e.geom), ST_Y(e.geom), e.h3_fine, e.h3_r7, "
                "e.h3_r8, e.h3_r9, e.h3_r10, e.location_precision FROM service_requests r "
                "JOIN events e ON e.id = r.event_id JOIN sources s ON s.id = e.source_id "
                "WHERE r.service_request_id = :sid"
            ),
            {"sid": sid},
        ).one()
        version_after = conn.execute(text("SELECT version FROM data_version")).scalar_one()
        cell_exists = conn.execute(
            text("SELECT count(*) FROM grid_cells WHERE h3 = :h"), {"h": event[7]}
        ).scalar_one()
    fine = cells_from_points([lon], [lat], FINE_RESOLUTION)
    assert event[:2] == ("habitants", "eclairage_defaillant")
    assert (event[2], event[3]) == pytest.approx((lon, lat))
    assert event[4] == int(fine[0])
    assert list(event[5:9]) == [int(parent_ids(fine, r)[0]) for r in (7, 8, 9, 10)]
    assert event[9] == "exact"
    assert cell_exists == 1
    assert version_after > version_before


def test_post_in_xml_answers_xml(
    client: httpx.Client, keys: dict[str, str], places: Places
) -> None:
    lon, lat = places.next()
    r = file_report(
        client, keys["partner"], fmt="xml", service_code="depot_sauvage", lat=lat, long=lon
    )
    assert r.status_code == 201
    items = xml_items(r, "service_requests", "request")
    assert items[0]["service_request_id"] and items[0]["token"] and items[0]["service_notice"]


def test_the_georeport_client_reads_services_and_requests(
    o311_url: str, client: httpx.Client, keys: dict[str, str], places: Places
) -> None:
    lon, lat = places.next()
    r = file_report(
        client,
        keys["partner"],
        service_code="tag_graffiti",
        lat=lat,
        long=lon,
        description="tag sur la façade de l'école",
        **{"attribute[support]": "facade"},
    )
    sid = r.json()[0]["service_request_id"]
    for fmt in ("json", "xml"):
        geo = GeoReport(o311_url + BASE, output_format=fmt)
        services = geo.get_service_list()
        assert "tag_graffiti" in [s["service_code"] for s in services]
        definition = geo.get_service_definition("tag_graffiti")
        assert definition["service_code"] == "tag_graffiti"
        requests_ = geo.get_service_requests(service_code="tag_graffiti", status="open")
        if isinstance(requests_, dict):  # xmltodict gives a dict for a single item
            requests_ = [requests_]
        assert sid in [x["service_request_id"] for x in requests_]
        one = geo.get_service_request(sid)
        assert one["service_request_id"] == sid
        assert not one.get("description")  # not published by an agent
        assert one["status"] == "open"
        both = geo.get_service_requests(service_request_id=sid)
        both = [both] if isinstance(both, dict) else both
        assert [x["service_request_id"] for x in both] == [sid]


def test_default_window_filters_and_limit(
    client: httpx.Client, keys: dict[str, str], places: Places, loaded_engine: Engine
) -> None:
    lon, lat = places.next()
    old = file_report(
        client, keys["partner"], service_code="voirie_degradee", lat=lat, long=lon
    ).json()[0]["service_request_id"]
    lon, lat = places.next()
    new = file_report(
        client, keys["partner"], service_code="voirie_degradee", lat=lat, long=lon
    ).json()[0]["service_request_id"]
    long_ago = datetime.now(UTC) - timedelta(days=120)
    with loaded_engine.begin() as conn:
        conn.execute(
            text("UPDATE service_requests SET requested_at = :t WHERE service_request_id = :s"),
            {"t": long_ago, "s": old},
        )
    default = [
        x["service_request_id"]
        for x in client.get(
            f"{BASE}/requests.json", params={"service_code": "voirie_degradee"}
        ).json()
    ]
    assert new in default and old not in default
    window = {
        "start_date": (long_ago - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_date": (long_ago + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    found = [
        x["service_request_id"] for x in client.get(f"{BASE}/requests.json", params=window).json()
    ]
    assert old in found and new not in found
    closed = client.get(
        f"{BASE}/requests.json", params={"status": "closed", "service_code": "voirie_degradee"}
    ).json()
    assert new not in [x["service_request_id"] for x in closed]
    by_ids = client.get(f"{BASE}/requests.json", params={"service_request_id": f"{old},{new}"})
    assert sorted(x["service_request_id"] for x in by_ids.json()) == sorted([old, new])


def test_at_most_1000_requests(client: httpx.Client, places: Places, loaded_engine: Engine) -> None:
    """1,005 reports stored directly: the list stops at 1,000, newest first."""
    with loaded_engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO service_requests (service_request_id, token, service_code, geom,
                    location_precision, requested_at, agency_responsible)
                SELECT 'bulk-' || g, 'bulk-token-' || g, 'nuisance_sonore',
                    ST_SetSRID(ST_MakePoint(5.40, 43.33), 4326), 'exact',
                    now() - make_interval(mins => g), 'Ville de Marseille'
                FROM generate_series(1, 1005) g
                """
            )
        )
    try:
        body = client.get(f"{BASE}/requests.json", params={"service_code": "nuisance_sonore"})
        rows = body.json()
        assert len(rows) == 1000
        bulk = [
            x["service_request_id"] for x in rows if x["service_request_id"].startswith("bulk-")
        ]
        assert bulk[:2] == ["bulk-1", "bulk-2"]
    finally:
        with loaded_engine.begin() as conn:
            conn.execute(
                text("DELETE FROM service_requests WHERE service_request_id LIKE 'bulk-%'")
            )
