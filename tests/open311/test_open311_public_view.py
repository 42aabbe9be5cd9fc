"""What the public reads of a resident's report (issue 14): no free text until an agent has
published it, times to the day, positions to a 50 m square, and no way to probe closer.

A report is filed for real with a description holding a name and a phone number; the public's
GET requests, GET requests/{id} and the nearby search are read before and after an agent
publishes an edited description.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import httpx
from pyproj import Transformer

from tests.open311.conftest import BASE, Places, as_role, file_report

SECRET = "Appelez Mme Durand au 06 12 34 56 78"
TO_L93 = Transformer.from_crs(4326, 2154, always_xy=True)


def _public(client: httpx.Client, sid: str) -> dict[str, Any]:
    r = client.get(f"{BASE}/requests/{sid}.json")
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()[0]
    return found


def _square_centre(lon: float, lat: float, side: float) -> tuple[float, float]:
    x, y = TO_L93.transform(lon, lat)
    return (math.floor(x / side) * side + side / 2, math.floor(y / side) * side + side / 2)


def test_the_public_reads_no_description_until_an_agent_publishes_it(
    client: httpx.Client, keys: dict[str, str], places: Places
) -> None:
    lon, lat = places.next()
    filed = file_report(
        client,
        keys["partner"],
        service_code="tag_graffiti",
        lat=lat,
        long=lon,
        description=SECRET,
    )
    assert filed.status_code == 201, filed.text
    sid = filed.json()[0]["service_request_id"]
    public = _public(client, sid)
    assert public["description"] is None
    listed = client.get(f"{BASE}/requests.json", params={"service_request_id": sid}).json()
    assert SECRET not in str(listed)
    # staff read it, and publish an edited text
    staff = as_role("agent", keys)
    assert client.get(f"/signalements/{sid}", headers=staff).json()["description"] == SECRET
    moved = client.patch(
        f"/signalements/{sid}",
        headers=staff,
        json={
            "state": "in_progress",
            "publish_description": True,
            "public_description": "Tags sur la façade",
        },
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["public_description"] == "Tags sur la façade"
    assert _public(client, sid)["description"] == "Tags sur la façade"
    assert SECRET not in client.get(f"{BASE}/requests/{sid}.xml").text
    # withdrawn again
    client.patch(
        f"/signalements/{sid}",
        headers=staff,
        json={"state": "in_progress", "publish_description": False},
    )
    assert _public(client, sid)["description"] is None
    # an edited text alone, without publishing, is refused with a reason
    bad = client.patch(
        f"/signalements/{sid}",
        headers=staff,
        json={"state": "in_progress", "public_description": "x"},
    )
    assert bad.status_code == 400
    assert "publish_description" in bad.json()["description"]


def test_the_public_reads_the_day_and_a_50_m_square_not_the_instant_and_the_point(
    client: httpx.Client, keys: dict[str, str], places: Places
) -> None:
    lon, lat = places.next()
    lon, lat = lon + 0.000123, lat + 0.000077  # not on any round figure
    filed = file_report(client, keys["partner"], service_code="tag_graffiti", lat=lat, long=lon)
    sid = filed.json()[0]["service_request_id"]
    public = _public(client, sid)
    when = datetime.fromisoformat(public["requested_datetime"])
    assert (when.hour, when.minute, when.second) == (0, 0, 0)
    staff = client.get(f"/signalements/{sid}", headers=as_role("agent", keys)).json()
    exact = datetime.fromisoformat(staff["requested_datetime"])
    assert exact.date() == when.date()
    assert (staff["lat"], staff["long"]) == (round(lat, 6), round(lon, 6))
    x, y = TO_L93.transform(public["long"], public["lat"])
    cx, cy = _square_centre(lon, lat, 50.0)
    assert abs(x - cx) < 0.05 and abs(y - cy) < 0.05  # the centre of its 50 m square
    assert public["address"] is None


def test_probing_with_small_radii_finds_the_square_not_the_point(
    client: httpx.Client, keys: dict[str, str], places: Places
) -> None:
    """Nearby searches measure from the square's centre: every probe inside the square
    answers alike, so a 1 m radius sweep cannot tell where in the square the report is."""
    lon, lat = places.next()
    filed = file_report(client, keys["partner"], service_code="voirie_degradee", lat=lat, long=lon)
    sid = filed.json()[0]["service_request_id"]
    answers = set()
    for dx in (-0.0002, -0.0001, 0.0, 0.0001, 0.0002):
        for dy in (-0.0001, 0.0, 0.0001):
            r = client.get(
                f"{BASE}/requests.json",
                params={
                    "lat": lat + dy,
                    "long": lon + dx,
                    "radius": 1,
                    "service_code": "voirie_degradee",
                },
            )
            assert r.status_code == 200, r.text
            ids = {x["service_request_id"] for x in r.json()}
            x, y = TO_L93.transform(lon + dx, lat + dy)
            cx, cy = _square_centre(lon, lat, 50.0)
            within = math.hypot(x - cx, y - cy) <= 1 + 50 * 0.7072
            answers.add((sid in ids) == within)
    assert answers == {True}


def test_narrowing_the_dates_times_a_report_to_the_day_only(
    client: httpx.Client, keys: dict[str, str], places: Places
) -> None:
    """start_date/end_date are widened to whole local days for the public: a bisection of the
    dates finds the day of a report, never its hour."""
    lon, lat = places.next()
    filed = file_report(client, keys["partner"], service_code="depot_sauvage", lat=lat, long=lon)
    sid = filed.json()[0]["service_request_id"]
    staff = client.get(f"/signalements/{sid}", headers=as_role("agent", keys)).json()
    at = datetime.fromisoformat(staff["requested_datetime"])
    day_start = at.replace(hour=0, minute=0, second=0)

    def found(start: datetime, end: datetime) -> bool:
        r = client.get(
            f"{BASE}/requests.json",
            params={
                "service_code": "depot_sauvage",
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
            },
        )
        assert r.status_code == 200, r.text
        return sid in {x["service_request_id"] for x in r.json()}

    # any window inside the report's day finds it, even one that excludes its instant
    assert found(day_start, day_start + timedelta(seconds=1))
    assert found(at + timedelta(seconds=1), at + timedelta(seconds=2))
    # staff-like exactness is not given: the same window just before the instant also finds it
    assert found(at - timedelta(seconds=2), at - timedelta(seconds=1))
