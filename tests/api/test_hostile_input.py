"""Hostile input gets a clear French 4xx, never a 500 (issue 14 §5), over the real app and DB.

Each case below gave a server error before; each answer is checked for its status, its error
body (``{"code", "description"}``, or Open311's error list) and a French description.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from geotranquil.errors import InvalidInput
from geotranquil.features.cql2 import (
    MAX_FILTER_CHARS,
    Queryable,
    check_filter_text,
    compile_filter,
)
from geotranquil.features.params import filter_json
from tests.api.conftest import headers_for
from tests.api.served import Served

SQUARE = [[5.375, 43.289], [5.384, 43.289], [5.384, 43.294], [5.375, 43.294], [5.375, 43.289]]
POLYGON = {"type": "Polygon", "coordinates": [SQUARE]}


def _error(response: httpx.Response, status: int) -> str:
    """The description of an error response of ``status`` (our format), checked."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    body = response.json()
    assert set(body) == {"code", "description"}, body
    return str(body["description"])


def _open311_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text[:500])
    body = response.json()
    assert isinstance(body, list) and len(body) == 1 and body[0]["code"] == status, body
    return str(body[0]["description"])


# ---------------------------------------------------------------------------------------------
# NUL bytes: PostgreSQL refuses them in text (psycopg DataError)


@pytest.mark.parametrize(
    "url",
    [
        "/collections/quartiers/items?filter=name%3D%27a%00b%27",
        "/collections/quartiers/items/ab%00cd",
        "/collections/quartiers/items?code=ab%00",
        "/collections/quart%00iers",
        "/tiles/counts-r8.json?categories=a%00",
        "/geocode?q=rue%00de%20Rome",
        "/carte/static/carte%00.js",
        "/collections/counts-r8/items?api_key=abc%00def",
    ],
)
def test_nul_byte_in_a_path_or_a_parameter_is_a_400(
    http: httpx.Client, served: Served, url: str
) -> None:
    description = _error(http.get(url), 400)
    assert "caractère nul" in description


@pytest.mark.parametrize(
    "url", ["/open311/v2/requests/12%0034.json", "/open311/v2/tokens/ab%00cd.json"]
)
def test_nul_byte_in_open311_ids_and_tokens_is_an_open311_400(
    http: httpx.Client, served: Served, url: str
) -> None:
    assert "caractère nul" in _open311_error(http.get(url), 400)


def test_nul_byte_in_an_api_key_header_is_refused(http: httpx.Client, served: Served) -> None:
    # httpx refuses to send a NUL in a header: a bearer token with an escaped NUL reaches us
    response = http.get("/runs", headers={"Authorization": "Bearer abc\u0001def"})
    _error(response, 401)


def test_nul_byte_in_a_json_body_is_a_400(
    http: httpx.Client, served: Served, api_keys: dict[str, str]
) -> None:
    headers = headers_for("planner", api_keys)
    zone = {"name": "Quartier\u0000test", "geometry": POLYGON}
    description = _error(http.post("/zones", json=zone, headers=headers), 400)
    assert "caractère nul" in description
    report = {"area": {"kind": "quartier", "code": "x\u0000"}}
    assert "caractère nul" in _error(http.post("/reports", json=report, headers=headers), 400)
    # escaped in the JSON text, not only as a raw byte
    raw = b'{"name": "a\\u0000b", "geometry": ' + json.dumps(POLYGON).encode() + b"}"
    response = http.post(
        "/zones", content=raw, headers={**headers, "Content-Type": "application/json"}
    )
    assert "caractère nul" in _error(response, 400)
    assert http.get("/zones", headers=headers).status_code == 200


def _report_with_a_nul(api_keys: dict[str, str]) -> dict[str, str]:
    """A resident's report, as a partner files it, whose description holds a NUL byte."""
    return {
        "api_key": api_keys["partner"],
        "service_code": "depot_sauvage",
        "lat": "43.29",
        "long": "5.38",
        "description": "sac\u0000poubelle",
    }


def test_nul_byte_in_an_open311_form_is_an_open311_400(
    http: httpx.Client, served: Served, api_keys: dict[str, str]
) -> None:
    form = _report_with_a_nul(api_keys)
    response = http.post("/open311/v2/requests.json", data=form)
    assert "caractère nul" in _open311_error(response, 400)
    form["api_key"] = "clé\u0000"
    response = http.post("/open311/v2/requests.json", data=form)
    assert "caractère nul" in _open311_error(response, 400)


# ---------------------------------------------------------------------------------------------
# Bounds of numbers and dates


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("offset=9223372036854775808", "offset"),
        ("offset=9223372036854775807", "offset"),
        ("offset=99999999999999999999999999", "offset"),
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
    ],
)
def test_limit_and_offset_out_of_bounds_are_400(
    http: httpx.Client, served: Served, query: str, word: str
) -> None:
    description = _error(http.get(f"/collections/quartiers/items?{query}"), 400)
    assert f"paramètre {word}" in description


def test_a_huge_limit_is_capped(http: httpx.Client, served: Served) -> None:
    response = http.get("/collections/quartiers/items?limit=9223372036854775808")
    assert response.status_code == 200, response.text
    assert response.json()["numberReturned"] == response.json()["numberMatched"]


def test_the_largest_offset_accepted_answers_an_empty_page(
    http: httpx.Client, served: Served
) -> None:
    response = http.get("/collections/quartiers/items?offset=1000000000")
    assert response.status_code == 200, response.text
    assert response.json()["features"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"offset": "9223372036854775808"},
        {"limit": "9223372036854775808"},
        {"limit": "-3"},
    ],
)
def test_staff_list_bounds_are_400(
    http: httpx.Client, served: Served, api_keys: dict[str, str], params: dict[str, str]
) -> None:
    response = http.get("/signalements", params=params, headers=headers_for("agent", api_keys))
    _error(response, 400)


@pytest.mark.parametrize(
    "period",
    [
        {"end": "9999-12-31"},
        {"start": "0001-01-01", "end": "0001-01-02"},
        {"start": "9999-12-30", "end": "9999-12-31"},
        {"start": "0001-01-01"},
    ],
)
def test_report_dates_out_of_range_are_400(
    http: httpx.Client, served: Served, api_keys: dict[str, str], period: dict[str, str]
) -> None:
    body: dict[str, Any] = {"geometry": POLYGON, **period}
    response = http.post("/reports", json=body, headers=headers_for("planner", api_keys))
    assert "période" in _error(response, 400)


@pytest.mark.parametrize(
    "value", ["9999-12-31", "0001-01-01", "9999-12-31T23:59:59Z/..", "../0001-01-01"]
)
def test_datetime_at_the_ends_of_the_calendar_is_a_400_or_an_answer(
    http: httpx.Client, served: Served, api_keys: dict[str, str], value: str
) -> None:
    for url in ("/collections/counts-r8/items", "/collections/events/items"):
        response = http.get(
            url, params={"datetime": value}, headers=headers_for("analyst", api_keys)
        )
        assert response.status_code in (200, 400), (url, value, response.text[:300])
        if response.status_code == 400:
            assert "datetime" in _error(response, 400)


# ---------------------------------------------------------------------------------------------
# Deep nesting


@pytest.mark.parametrize("depth", [200, 800])
def test_deeply_nested_cql2_json_is_a_400(http: httpx.Client, served: Served, depth: int) -> None:
    node: Any = {"op": "=", "args": [{"property": "name"}, "Noailles"]}
    text = json.dumps(node, separators=(",", ":"))
    text = '{"op":"not","args":[' * depth + text + "]}" * depth
    assert len(text) < MAX_FILTER_CHARS  # the depth is refused, not the length
    response = http.get(
        "/collections/quartiers/items", params={"filter": text, "filter-lang": "cql2-json"}
    )
    description = _error(response, 400)
    assert "imbriqué" in description or "trop long" in description


@pytest.mark.parametrize("depth", [10_000, 1_000_000])
def test_filters_nested_beyond_the_recursion_limit_are_refused_without_recursing(
    depth: int,
) -> None:
    queryables = {"name": Queryable("name", "s.name", "string")}
    deep_json = '{"op":"not","args":[' * depth + '{"property":"name"}' + "]}" * depth
    deep_text = "(" * depth + "name = 'x'" + ")" * depth
    for text, lang in ((deep_json, "cql2-json"), (deep_text, "cql2-text")):
        with pytest.raises(InvalidInput, match="trop long"):
            compile_filter(text, lang, queryables)
        with pytest.raises(InvalidInput, match="trop"):
            filter_json(text)
    with pytest.raises(InvalidInput, match="imbriqué"):
        check_filter_text("[" * 5000, "cql2-json")  # short enough, but too deep


@pytest.mark.parametrize("depth", [200, 1000, 3000])
def test_deeply_nested_cql2_text_is_a_400(http: httpx.Client, served: Served, depth: int) -> None:
    text = "(" * depth + "name = 'Noailles'" + ")" * depth
    response = http.get("/collections/quartiers/items", params={"filter": text})
    assert "imbriqué" in _error(response, 400)
    text = "NOT " * depth + "name = 'Noailles'"
    response = http.get("/collections/quartiers/items", params={"filter": text})
    assert "imbriqué" in _error(response, 400)


# ---------------------------------------------------------------------------------------------
# Static files


@pytest.mark.parametrize(
    "prefix", ["/carte/static/", "/habitants/static/", "/traitement/static/", "/carte/vendor/"]
)
@pytest.mark.parametrize("name", ["a" * 256, "é" * 200 + ".js", "x" * 5000])
def test_static_file_names_too_long_are_404(
    http: httpx.Client, served: Served, prefix: str, name: str
) -> None:
    description = _error(http.get(prefix + name), 404)
    assert "introuvable" in description


# ---------------------------------------------------------------------------------------------
# CRS of reports and zones: bounded, never echoed


@pytest.mark.parametrize("route", ["/reports", "/zones"])
@pytest.mark.parametrize("crs", ["EPSG:9999", "<script>alert(1)</script>", "Z" * 100_000])
def test_crs_of_a_polygon_is_bounded_and_not_echoed(
    http: httpx.Client, served: Served, api_keys: dict[str, str], route: str, crs: str
) -> None:
    body: dict[str, Any] = {"geometry": POLYGON, "crs": crs}
    if route == "/zones":
        body["name"] = "Zone à système inconnu"
    response = http.post(route, json=body, headers=headers_for("planner", api_keys))
    description = _error(response, 400)
    assert crs not in description and "script" not in description and "ZZZ" not in description
    assert "crs" in description
    if len(crs) < 100:
        assert "EPSG:2154" in description
    else:
        assert "au plus 100 caractères" in description
    assert len(description) < 400


def test_nul_byte_in_a_multipart_open311_form_is_an_open311_400(
    http: httpx.Client, served: Served, api_keys: dict[str, str]
) -> None:
    form = _report_with_a_nul(api_keys)
    photo = {"media": ("p.jpg", b"\xff\xd8\x00\x00binary", "image/jpeg")}
    response = http.post("/open311/v2/requests.json", data=form, files=photo)
    assert "caractère nul" in _open311_error(response, 400)
    response = http.post("/habitants/signalements", data=form, files=photo)
    assert "caractère nul" in _error(response, 400)


# ---------------------------------------------------------------------------------------------
# GDAL's dates; TileJSON and caching


def test_gdal_date_with_a_bare_trailing_t_is_accepted(
    http: httpx.Client, served: Served, api_keys: dict[str, str]
) -> None:
    analyst = headers_for("analyst", api_keys)

    def matched(value: str) -> int:
        response = http.get(
            "/collections/events/items", params={"datetime": value, "limit": 1}, headers=analyst
        )
        assert response.status_code == 200, response.text
        return int(response.json()["numberMatched"])

    assert matched("2025-03-01T/..") == matched("2025-03-01/..") > 0
    assert matched("../2025-03-01T") == matched("../2025-03-01") > 0
    assert matched("2025-03-01T") == matched("2025-03-01")


def test_tilejson_never_embeds_the_key_and_is_private_for_a_key(
    http: httpx.Client, served: Served, api_keys: dict[str, str]
) -> None:
    key = api_keys["planner"]
    for response in (
        http.get("/tiles/hotspots.json", params={"api_key": key, "categories": "vol"}),
        http.get("/tiles/hotspots.json?categories=vol", headers={"X-API-Key": key}),
        http.get("/tiles/hotspots.json?categories=vol", headers={"Authorization": f"Bearer {key}"}),
    ):
        assert response.status_code == 200, response.text
        assert key not in response.text and "api_key" not in response.text
        assert response.json()["tiles"][0].endswith(
            "/tiles/hotspots/{z}/{x}/{y}.mvt?categories=vol"
        )
        assert response.headers["Cache-Control"].startswith("private")
        assert "public" not in response.headers["Cache-Control"]
        vary = {v.strip().lower() for v in response.headers["Vary"].split(",")}
        assert {"x-api-key", "authorization"} <= vary
    public = http.get("/tiles/counts-r8.json")
    assert public.status_code == 200
    vary = {v.strip().lower() for v in public.headers["Vary"].split(",")}
    assert {"x-api-key", "authorization"} <= vary


@pytest.mark.parametrize(
    "url",
    [
        "/collections/quartiers/items?limit=1",
        "/collections/counts-r8/items?limit=1",
        "/tiles/basemap/12/2110/1495.mvt",
        "/categories",
    ],
)
def test_answers_to_a_key_are_never_stored_by_shared_caches(
    http: httpx.Client, served: Served, api_keys: dict[str, str], url: str
) -> None:
    with_key = http.get(url, headers=headers_for("analyst", api_keys))
    assert with_key.status_code in (200, 204), with_key.text
    assert with_key.headers["Cache-Control"].split(",")[0] == "private"
    public = http.get(url)
    assert "x-api-key" in public.headers["Vary"].lower()


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/zones/9223372036854775808"),
        ("DELETE", "/zones/99999999999999999999999"),
        ("GET", "/zones/-9223372036854775809"),
        ("GET", "/collections/zones/items/9223372036854775808"),
        ("GET", "/collections/events/items/-99999999999999999999"),
        ("GET", "/cells/ffffffffffffffffffff"),
        ("GET", "/cells/8a3969a4ffff?hotspot_run=999999999"),
        ("GET", "/tiles/counts-r8/99/1/1.mvt"),
        ("GET", "/tiles/counts-r8/8/99999999999999999999/1.mvt"),
        ("GET", "/signalements?offset=10000001"),
        ("GET", "/open311/v2/requests.json?radius=1e308&lat=43.3&long=5.4"),
        ("GET", "/open311/v2/requests.json?start_date=9999-12-31T23:59:59Z"),
    ],
)
def test_numbers_out_of_range_anywhere_are_4xx(
    http: httpx.Client, served: Served, api_keys: dict[str, str], method: str, url: str
) -> None:
    response = http.request(method, url, headers=headers_for("analyst", api_keys))
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
