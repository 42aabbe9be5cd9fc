"""Residents' personal data read by staff are audited: the staff list, a report with its
author's contact, its photo, a workflow move; the public Open311 views are not; the audit
trail holds none of the personal data."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.audit_helpers import key_id, last_id, rows_after, table_text
from tests.open311.conftest import BASE, Places, as_role, file_report, jpeg_with_gps

CONTACT = {
    "email": "ondine.vauclairmont-5521@example.org",
    "first_name": "Ondine",
    "last_name": "Vauclairmont",
    "phone": "+33 6 11 22 33 44",
}
DESCRIPTION = "encombrants devant le 14 rue Vauclairmont"


@pytest.fixture(scope="module")
def client(o311_url: str) -> Any:
    with httpx.Client(base_url=o311_url, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def report(client: httpx.Client, keys: dict[str, str], places: Places) -> str:
    lon, lat = places.next()
    r = file_report(
        client,
        keys["partner"],
        files={"media": ("p.jpg", jpeg_with_gps(), "image/jpeg")},
        service_code="depot_sauvage",
        lat=lat,
        long=lon,
        description=DESCRIPTION,
        address_string="14 rue Vauclairmont, Marseille",
        **CONTACT,
    )
    assert r.status_code == 201, r.text
    return str(r.json()[0]["service_request_id"])


def test_staff_reads_of_personal_data_are_recorded(
    client: httpx.Client, keys: dict[str, str], report: str, loaded_engine: Engine
) -> None:
    before = last_id(loaded_engine)
    public = client.get(f"{BASE}/requests/{report}.json")  # the public view: not audited
    assert public.status_code == 200
    agent = as_role("agent", keys)
    listed = client.get("/signalements", params={"state": "received", "limit": "5"}, headers=agent)
    assert listed.status_code == 200
    n_listed = len(listed.json()["items"])
    assert 1 <= n_listed <= 5
    one = client.get(f"/signalements/{report}", headers=agent)
    assert one.json()["contact"]["email"] == CONTACT["email"]
    photo = client.get(f"/signalements/{report}/photo", headers=as_role("analyst", keys))
    assert photo.headers["content-type"] == "image/jpeg"
    moved = client.patch(
        f"/signalements/{report}",
        json={"state": "in_progress", "notes": "pris en charge"},
        headers=agent,
    )
    assert moved.status_code == 200, moved.text
    refused = client.get(f"/signalements/{report}", headers=as_role("planner", keys))
    assert refused.status_code == 403
    rows = rows_after(loaded_engine, before)
    agent_who = f"key:{key_id(loaded_engine, keys['agent'])}"
    analyst_who = f"key:{key_id(loaded_engine, keys['analyst'])}"
    fields = ("who", "role", "action", "method", "route", "path", "filters", "rows", "client")
    assert [tuple(r[f] for f in fields) for r in rows] == [
        (
            agent_who,
            "agent",
            "read_personal_data",
            "GET",
            "/signalements",
            "/signalements",
            {"state": "received", "limit": "5"},
            n_listed,
            "127.0.0.1",
        ),
        (
            agent_who,
            "agent",
            "read_personal_data",
            "GET",
            "/signalements/{service_request_id}",
            f"/signalements/{report}",
            {},
            1,
            "127.0.0.1",
        ),
        (
            analyst_who,
            "analyst",
            "read_personal_data",
            "GET",
            "/signalements/{service_request_id}/photo",
            f"/signalements/{report}/photo",
            {},
            1,
            "127.0.0.1",
        ),
        (
            agent_who,
            "agent",
            "report_state_changed",
            "PATCH",
            "/signalements/{service_request_id}",
            f"/signalements/{report}",
            {},
            1,
            "127.0.0.1",
        ),
    ]


def test_no_personal_data_in_the_audit_trail(
    client: httpx.Client, keys: dict[str, str], report: str, loaded_engine: Engine
) -> None:
    client.get(f"/signalements/{report}", headers=as_role("admin", keys))
    stored = table_text(loaded_engine).lower()
    for secret in [*CONTACT.values(), DESCRIPTION, "vauclairmont", "11 22 33 44"]:
        assert secret.lower() not in stored
    for key in keys.values():
        assert key not in stored
