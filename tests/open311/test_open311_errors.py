"""Every error of the Open311 endpoints answers the specification's error list, in the format
the path asks for, with the right HTTP status; none is a 500."""

from __future__ import annotations

import io
from collections.abc import Callable
from xml.etree import ElementTree as ET

import httpx
import pytest
from PIL import Image

from tests.open311.conftest import BASE, Places, file_report, jpeg_with_gps

MARSEILLE = {"lat": 43.2965, "long": 5.3698}
PARIS = {"lat": 48.8566, "long": 2.3522}


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, format="GIF")
    return out.getvalue()


Case = Callable[[httpx.Client, dict[str, str], str], httpx.Response]


def _post(fields: dict[str, object], key: str = "partner") -> Case:
    def run(client: httpx.Client, keys: dict[str, str], fmt: str) -> httpx.Response:
        return file_report(client, keys.get(key, key), fmt=fmt, **fields)

    return run


def _get(path: str, params: dict[str, str] | None = None) -> Case:
    def run(client: httpx.Client, keys: dict[str, str], fmt: str) -> httpx.Response:
        return client.get(f"{BASE}/{path}.{fmt}", params=params)

    return run


def _photo(content: bytes) -> Case:
    def run(client: httpx.Client, keys: dict[str, str], fmt: str) -> httpx.Response:
        return file_report(
            client,
            keys["partner"],
            fmt=fmt,
            files={"media": ("photo.bin", content, "application/octet-stream")},
            service_code="depot_sauvage",
            **MARSEILLE,
        )

    return run


def _no_key(client: httpx.Client, keys: dict[str, str], fmt: str) -> httpx.Response:
    return client.post(
        f"{BASE}/requests.{fmt}", data={"service_code": "depot_sauvage", **MARSEILLE}
    )


def _delete(client: httpx.Client, keys: dict[str, str], fmt: str) -> httpx.Response:
    return client.delete(f"{BASE}/requests.{fmt}")


CASES: dict[str, tuple[Case, int]] = {
    "no api_key": (_no_key, 401),
    "unknown api_key": (_post({"service_code": "depot_sauvage", **MARSEILLE}, "gtq_nope"), 401),
    "no service_code": (_post(MARSEILLE), 400),
    "unknown service_code": (_post({"service_code": "vol", **MARSEILLE}), 400),
    "no location": (_post({"service_code": "depot_sauvage"}), 400),
    "lat without long": (_post({"service_code": "depot_sauvage", "lat": 43.3}), 400),
    "lat not a number": (
        _post({"service_code": "depot_sauvage", "lat": "nord", "long": 5.37}),
        400,
    ),
    "outside the commune": (_post({"service_code": "depot_sauvage", **PARIS}), 400),
    "description too long": (
        _post({"service_code": "depot_sauvage", "description": "x" * 4001, **MARSEILLE}),
        400,
    ),
    "bad email": (
        _post({"service_code": "depot_sauvage", "email": "pas-un-courriel", **MARSEILLE}),
        400,
    ),
    "bad phone": (
        _post({"service_code": "depot_sauvage", "phone": "appelez-moi", **MARSEILLE}),
        400,
    ),
    "bad media_url": (
        _post({"service_code": "depot_sauvage", "media_url": "ftp://x/y.jpg", **MARSEILLE}),
        400,
    ),
    "required attribute missing": (
        _post({"service_code": "eclairage_defaillant", **MARSEILLE}),
        400,
    ),
    "unknown attribute": (
        _post(
            {
                "service_code": "eclairage_defaillant",
                "attribute[etat]": "eteinte",
                "attribute[couleur]": "rouge",
                **MARSEILLE,
            }
        ),
        400,
    ),
    "attribute value not in the list": (
        _post({"service_code": "eclairage_defaillant", "attribute[etat]": "rose", **MARSEILLE}),
        400,
    ),
    "address that cannot be placed": (
        _post({"service_code": "depot_sauvage", "address_string": "12 impasse des Licornes"}),
        400,
    ),
    "photo of a refused type (GIF)": (_photo(_gif()), 400),
    "photo that is not an image": (_photo(b"%PDF-1.4 not an image"), 400),
    "photo too large": (_photo(jpeg_with_gps() + b"\0" * 9_000_000), 413),
    "unknown service definition": (_get("services/vol"), 404),
    "unknown request": (_get("requests/1999-999999"), 404),
    "unknown token": (_get("tokens/no-such-token"), 404),
    "bad status filter": (_get("requests", {"status": "pending"}), 400),
    "bad start_date": (_get("requests", {"start_date": "hier"}), 400),
    "window over 90 days": (
        _get(
            "requests", {"start_date": "2025-01-01T00:00:00Z", "end_date": "2025-06-01T00:00:00Z"}
        ),
        400,
    ),
    "end before start": (
        _get(
            "requests", {"start_date": "2025-03-01T00:00:00Z", "end_date": "2025-02-01T00:00:00Z"}
        ),
        400,
    ),
    "unknown service_code filter": (_get("requests", {"service_code": "vol"}), 400),
    "near without long": (_get("requests", {"lat": "43.3"}), 400),
    "radius too large": (_get("requests", {"lat": "43.3", "long": "5.4", "radius": "99999"}), 400),
    "unknown route": (_get("nothing"), 404),
    "method not allowed": (_delete, 405),
}


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("case", list(CASES))
def test_error_answers_the_error_list(
    case: str, fmt: str, client: httpx.Client, keys: dict[str, str], places: Places
) -> None:
    run, status = CASES[case]
    response = run(client, keys, fmt)
    assert response.status_code == status, (response.status_code, response.text[:300])
    if fmt == "json":
        body = response.json()
        assert isinstance(body, list) and len(body) == 1
        assert body[0]["code"] == status
        assert isinstance(body[0]["description"], str) and body[0]["description"]
    else:
        assert response.headers["content-type"].startswith("text/xml")
        doc = ET.fromstring(response.content)
        assert doc.tag == "errors"
        errors = doc.findall("error")
        assert len(errors) == 1
        assert errors[0].findtext("code") == str(status)
        assert errors[0].findtext("description")


def test_unknown_format_is_a_json_error(client: httpx.Client) -> None:
    response = client.get(f"{BASE}/services.html")
    assert response.status_code == 404
    assert response.json()[0]["code"] == 404
