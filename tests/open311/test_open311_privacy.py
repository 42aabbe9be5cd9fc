"""Privacy: the personal data of seeded reports appear in no public, partner or planner response
(Open311 GET, OGC collections and items, exports, H3 rows, vector tiles decoded, the residents'
app's settings, the health check; the staff's list neither), while staff see them in a
report's own staff view."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import mapbox_vector_tile
import pytest

from tests.open311.conftest import BASE, Places, as_role, file_report, jpeg_with_gps

SECRETS = {
    "email": "zephyrin.quintalbaud-8374@example.org",
    "first_name": "Zéphyrinus",
    "last_name": "Quintalbaud",
    "phone": "+33 6 98 76 54 32",
}
NEEDLES = [*SECRETS.values(), "quintalbaud", "98 76 54 32", "MarqueSecreteXYZ"]


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def _text_of(response: httpx.Response) -> str:
    kind = response.headers.get("content-type", "")
    if "vnd.mapbox-vector-tile" in kind:
        return json.dumps(
            mapbox_vector_tile.decode(response.content), default=str, ensure_ascii=False
        )
    return response.content.decode("utf-8", errors="replace")


def _found(text: str) -> list[str]:
    low = text.lower()
    return [n for n in NEEDLES if n.lower() in low]


@pytest.fixture(scope="module")
def seeded(
    client: httpx.Client, keys: dict[str, str], places: Places
) -> list[tuple[str, float, float]]:
    out = []
    for code in ("depot_sauvage", "nuisance_sonore"):
        lon, lat = places.next()
        r = file_report(
            client,
            keys["partner"],
            files={"media": ("p.jpg", jpeg_with_gps(), "image/jpeg")},
            service_code=code,
            lat=lat,
            long=lon,
            description="signalement pour le test de confidentialité",
            **SECRETS,
        )
        assert r.status_code == 201, r.text
        out.append((r.json()[0]["service_request_id"], lon, lat))
    return out


@pytest.fixture(scope="module")
def client(o311_url: str) -> Any:  # module scope for the seeded fixture
    with httpx.Client(base_url=o311_url, timeout=60) as c:
        yield c


def test_staff_see_the_personal_data(
    client: httpx.Client, keys: dict[str, str], seeded: list[tuple[str, float, float]]
) -> None:
    for role in ("agent", "analyst", "admin"):
        body = client.get(f"/signalements/{seeded[0][0]}", headers=as_role(role, keys)).text
        assert sorted(_found(body)) == sorted(n for n in NEEDLES if n != "MarqueSecreteXYZ")


@pytest.mark.parametrize("role", ["public", "partner", "planner", "analyst"])
def test_no_public_or_planner_response_holds_personal_data(
    role: str, client: httpx.Client, keys: dict[str, str], seeded: list[tuple[str, float, float]]
) -> None:
    headers = as_role(role, keys)
    urls: list[str] = []
    for fmt in ("json", "xml"):
        urls += [f"{BASE}/requests.{fmt}", f"{BASE}/services.{fmt}"]
        for sid, lon, lat in seeded:
            urls += [
                f"{BASE}/requests/{sid}.{fmt}",
                f"{BASE}/requests.{fmt}?lat={lat}&long={lon}&radius=100",
                f"{BASE}/requests.{fmt}?service_request_id={sid}",
            ]
    # the residents' app's settings, the health check, and the staff's list (no contact in it)
    urls += ["/habitants/config.json", "/health", "/signalements?limit=200"]
    collections = client.get("/collections", headers=headers).json()["collections"]
    ids = [c["id"] for c in collections]
    assert ids, "no collection readable"
    for cid in ids:
        urls += [
            f"/collections/{cid}",
            f"/collections/{cid}/items?limit=10000",
            f"/collections/{cid}/export?f=geojson",
            f"/collections/{cid}/export?f=csv",
            f"/collections/{cid}/h3",
        ]
        for _, lon, lat in seeded:
            for z in (8, 11, 14):
                x, y = _tile_xy(lon, lat, z)
                urls.append(f"/tiles/{cid}/{z}/{x}/{y}.mvt")
    leaks: list[str] = []
    served = 0
    for url in urls:
        response = client.get(url, headers=headers)
        assert response.status_code < 500, (url, response.status_code, response.text[:200])
        if response.status_code == 200:
            served += 1
            found = _found(_text_of(response))
            if found:
                leaks.append(f"{url}: {found}")
    # the staff routes are refused below the staff roles
    for sid, _, _ in seeded if role != "analyst" else []:
        assert client.get(f"/signalements/{sid}", headers=headers).status_code in (401, 403)
        assert client.get("/signalements", headers=headers).status_code in (401, 403)
        assert client.get(f"/signalements/{sid}/photo", headers=headers).status_code in (401, 403)
    assert leaks == []
    assert served > 20
    # the reports themselves are served: the search looked at them
    shown = client.get(f"{BASE}/requests/{seeded[0][0]}.json", headers=headers).json()[0]
    assert shown["service_request_id"] == seeded[0][0]
    assert shown["description"] is None  # free text only once an agent has published it
