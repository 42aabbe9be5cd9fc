"""A report placed by its address (the Base Adresse Nationale loaded for real), retries of one
submission stored once (``Idempotency-Key``), and the staff's list of reports."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pandas as pd
import pytest
from sqlalchemy import Engine, text

from tests.open311.conftest import BASE, Places, as_role, file_report


def test_a_report_by_address_is_placed_at_that_address(
    client: httpx.Client, keys: dict[str, str], ban: pd.DataFrame, loaded_engine: Engine
) -> None:
    row = ban[(ban["numero"] < 99999) & (ban["rep"] == "")].iloc[250]
    address = f"{row['numero']} {row['nom_voie']} {row['code_postal']} Marseille"
    response = file_report(
        client, keys["partner"], service_code="depot_sauvage", address_string=address
    )
    assert response.status_code == 201, response.text
    sid = response.json()[0]["service_request_id"]
    staff = client.get(f"/signalements/{sid}", headers={"X-API-Key": keys["agent"]}).json()
    assert staff["address"] == address
    assert (staff["long"], staff["lat"]) == pytest.approx((row["lon"], row["lat"]), abs=1e-6)
    # the public reads neither the typed address nor the exact point (its 50 m square's centre)
    public = client.get(f"{BASE}/requests/{sid}.json").json()[0]
    assert public["address"] is None
    assert (public["long"], public["lat"]) == pytest.approx((row["lon"], row["lat"]), abs=5e-4)
    with loaded_engine.connect() as conn:
        event = conn.execute(
            text(
                "SELECT e.location_precision, e.address, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat "
                "FROM service_requests r JOIN events e ON e.id = r.event_id "
                "WHERE r.service_request_id = :s"
            ),
            {"s": sid},
        ).one()
    assert event.location_precision == "address" and event.address == address
    assert (event.lon, event.lat) == pytest.approx((row["lon"], row["lat"]), abs=1e-7)


def test_an_unknown_address_is_a_clear_400(
    client: httpx.Client, keys: dict[str, str], ban: pd.DataFrame
) -> None:
    response = file_report(
        client,
        keys["partner"],
        service_code="depot_sauvage",
        address_string="12 impasse des Licornes Bleues 13001",
    )
    assert response.status_code == 400
    assert "introuvable ou trop imprécise" in response.json()[0]["description"]


def test_retries_with_one_idempotency_key_are_stored_once(
    client: httpx.Client, keys: dict[str, str], places: Places, loaded_engine: Engine, o311_url: str
) -> None:
    lon, lat = places.next()
    key = str(uuid.uuid4())
    description = f"Banc cassé, retries {key[:8]}"
    data = {
        "api_key": keys["partner"],
        "service_code": "degradation_bien_public",
        "lat": str(lat),
        "long": str(lon),
        "description": description,
    }

    def attempt(_: int) -> httpx.Response:
        with httpx.Client(base_url=o311_url, timeout=30) as c:
            return c.post(f"{BASE}/requests.json", data=data, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(max_workers=4) as pool:  # concurrent retries, as after a timeout
        answers = list(pool.map(attempt, range(6)))
    assert [a.status_code for a in answers] == [201] * 6
    ids = {a.json()[0]["service_request_id"] for a in answers}
    tokens = {a.json()[0]["token"] for a in answers}
    assert len(ids) == 1 and len(tokens) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 5
    with loaded_engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT count(*) AS requests, count(e.id) AS events FROM service_requests r "
                "LEFT JOIN events e ON e.id = r.event_id WHERE r.description = :d"
            ),
            {"d": description},
        ).one()
    assert (stored.requests, stored.events) == (1, 1)
    # the key also works as a form field (clients that cannot set headers), in XML too
    again = client.post(f"{BASE}/requests.xml", data={**data, "idempotency_key": key})
    assert again.status_code == 201 and ids.pop() in again.text


def test_a_malformed_idempotency_key_is_a_400(
    client: httpx.Client, keys: dict[str, str], places: Places
) -> None:
    lon, lat = places.next()
    response = client.post(
        f"{BASE}/requests.json",
        data={"api_key": keys["partner"], "service_code": "depot_sauvage", "lat": lat, "long": lon},
        headers={"Idempotency-Key": "court"},
    )
    assert response.status_code == 400
    assert "clé d'idempotence invalide" in response.json()[0]["description"]


def test_the_staff_list_filters_by_state_and_hides_nothing_from_staff(
    client: httpx.Client, keys: dict[str, str], places: Places
) -> None:
    lon, lat = places.next()
    tag = uuid.uuid4().hex[:8]
    filed = file_report(
        client,
        keys["partner"],
        service_code="nuisance_sonore",
        lat=lat,
        long=lon,
        description=f"Musique forte {tag}",
        email=f"voisin.{tag}@example.org",
    )
    sid = filed.json()[0]["service_request_id"]
    agent = as_role("agent", keys)
    moved = client.patch(f"/signalements/{sid}", headers=agent, json={"state": "in_progress"})
    assert moved.status_code == 200, moved.text
    page = client.get(
        "/signalements",
        headers=agent,
        params={"state": "in_progress", "service_code": "nuisance_sonore", "limit": 200},
    ).json()
    mine = [i for i in page["items"] if i["service_request_id"] == sid]
    assert len(mine) == 1 and mine[0]["state_label"] == "en cours de traitement"
    assert mine[0]["has_contact"] is True and mine[0]["has_photo"] is False
    assert all(i["workflow_state"] == "in_progress" for i in page["items"])
    assert page["total"] >= 1 and page["limit"] == 200
    # contacts are read one report at a time, by staff
    assert f"voisin.{tag}" not in str(page)
    assert client.get("/signalements", headers=as_role("planner", keys)).status_code == 403
    assert client.get("/signalements").status_code == 401
    bad = client.get("/signalements", headers=agent, params={"state": "perdu"})
    assert bad.status_code == 400 and "perdu" in bad.json()["description"]
