"""The OpenAPI document at ``/api``, completed so that a client can rely on it.

FastAPI describes the parameters a route declares in its signature; many of ours read the query
themselves (OGC API Features has open-ended parameters). This module adds, to the document
FastAPI builds:

- every query parameter of the routes that read the query themselves, with its type, bounds,
  default and accepted values (``limit`` advertises its default and maximum: GDAL's OAPIF
  driver sizes its pages from them);
- every status code a route actually returns (400 everywhere: a NUL character is refused on
  any route; 401/403 where a role is needed; 404; 413/429 when filing reports; 304/204 for
  tiles; 503 when the database is away) with the error body: ``{"code", "description"}``, or
  under ``/open311/`` the specification's error list (JSON or XML);
- the media types of every format a route answers in, and the ways to send a key.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from geotranquil.config import Settings
from geotranquil.exports.writers import EXPORT_FORMATS
from geotranquil.features.cql2 import MAX_FILTER_CHARS
from geotranquil.features.crs import SUPPORTED
from geotranquil.features.params import FILTER_LANGS, FORMATS, MAX_CURSOR, MAX_OFFSET
from geotranquil.services.cells import EVENTS_LIMIT, EVENTS_LIMIT_MAX
from geotranquil.services.open311 import (
    DESCRIPTION_MAX,
    MAX_RESULTS,
    NEAR_MAX_RADIUS_M,
    STAFF_PAGE_MAX,
    services,
)
from geotranquil.tiles.tms import MAX_ZOOM

JSON = "application/json"
GEOJSON = "application/geo+json"
XML = "text/xml"
HTML = "text/html"
CSV = "text/csv"
MVT = "application/vnd.mapbox-vector-tile"
OPEN311 = "/open311/"


def _code_and_description(code_type: str) -> dict[str, Any]:
    """The members of an error object: a ``code`` of ``code_type`` and a ``description``."""
    return {
        "required": ["code", "description"],
        "properties": {"code": {"type": code_type}, "description": {"type": "string"}},
    }


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Error",
    "description": "An error: a machine code and a French description a person can act on.",
    **_code_and_description("string"),
}
OPEN311_ERRORS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "title": "Open311Errors",
    "description": "Open311 GeoReport v2 error list (``<errors>`` in XML).",
    "items": {"type": "object", **_code_and_description("integer")},
}
FEATURE_COLLECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "FeatureCollection",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": {"type": "object"}},
        "numberMatched": {"type": "integer", "minimum": 0},
        "numberReturned": {"type": "integer", "minimum": 0},
        "links": {"type": "array", "items": {"type": "object"}},
    },
}
ERROR_REASONS = {
    "304": "Not modified (the ETag sent in If-None-Match is current)",
    "206": "Part of a file export (Range), the same file as the whole",
    "400": "Invalid request: a parameter or the body is malformed, out of bounds or unknown",
    "401": "A key is needed (X-API-Key, Authorization: Bearer, or api_key)",
    "403": "The key's role may not read or do this",
    "404": "No such resource (or not visible to the caller's role)",
    "413": "Body too large",
    "422": "The geometry cannot be used (says what is wrong and where)",
    "429": "Too many requests; Retry-After says when to retry",
    "302": "Redirect to the City's sign-in provider",
    "303": "Redirect back to the page (signed in or out)",
    "503": "The database (or a page's map library) is unavailable; retry later",
}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _text(max_length: int = 1000, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, **extra}


def _integer(minimum: int, maximum: int, default: int | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer", "minimum": minimum, "maximum": maximum}
    if default is not None:
        schema["default"] = default
    return schema


def _crs_parameter(name: str, description: str) -> dict[str, Any]:
    uris = [c.uri for c in SUPPORTED]
    return _query(name, {"type": "string", "enum": uris, "default": uris[0]}, description)


DATETIME = _query(
    "datetime",
    _text(100),
    "An instant or interval, RFC 3339 (2025-03-01, 2025-03-01T08:00:00Z, "
    "2025-01-01/2025-06-30, ../2025-06-30); dates are whole local days, ends included",
)
CATEGORIES = _query("categories", _text(2000), "Comma-separated category codes (see /categories)")


def _filters() -> list[dict[str, Any]]:
    """The filters of items, exports and H3 rows (everything but paging and format)."""
    return [
        _query(
            "bbox",
            {
                "type": "array",
                "minItems": 4,
                "maxItems": 6,
                "items": {"type": "number"},
            },
            "minx,miny,maxx,maxy (or 6 numbers with heights), in bbox-crs",
        )
        | {"style": "form", "explode": False},
        _crs_parameter("bbox-crs", "CRS of bbox (CRS84 by default)"),
        DATETIME,
        _query(
            "filter",
            _text(MAX_FILTER_CHARS),
            "CQL2 filter, in filter-lang (the whole URL must stay under 16 KiB, what the HTTP "
            "server reads)",
        ),
        _query(
            "filter-lang",
            {"type": "string", "enum": list(FILTER_LANGS), "default": FILTER_LANGS[0]},
            "Language of filter",
        ),
        _crs_parameter("filter-crs", "CRS of the geometries in filter (CRS84 by default)"),
        _query(
            "sortby",
            _text(1000),
            "Comma-separated properties, '-' before a name for descending order",
        ),
        _query("properties", _text(2000), "Comma-separated properties to return"),
        _crs_parameter("crs", "CRS of the answer's geometries (CRS84 by default)"),
        CATEGORIES,
    ]


def _items_parameters(settings: Settings) -> list[dict[str, Any]]:
    return [
        _query(
            "limit",
            _integer(1, settings.items_limit_max, settings.items_limit_default),
            f"Items per page ({settings.items_limit_default} by default; larger values are "
            f"capped at {settings.items_limit_max}, as OGC API Features prescribes)",
        ),
        _query("offset", _integer(0, MAX_OFFSET, 0), "Items to skip (follow the 'next' links)"),
        _query(
            "after",
            _text(MAX_CURSOR),
            "Keyset paging: the items whose id follows this one, in id order (the 'next' links "
            "use it when there is no sortby; not with offset nor sortby)",
        ),
        *_filters(),
        _query(
            "f",
            {"type": "string", "enum": list(FORMATS), "default": "json"},
            "Format of the page",
        ),
    ]


def _parameters(settings: Settings) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The query parameters of the routes that read the query themselves."""
    tile = [DATETIME, CATEGORIES, _query("f", {"type": "string", "enum": ["mvt"]}, "mvt")]
    run = _integer(1, 999_999_999)
    return {
        ("get", "/collections/{collection_id}/items"): _items_parameters(settings),
        ("get", "/collections/{collection_id}/items/{feature_id}"): [
            _crs_parameter("crs", "CRS of the answer's geometry (CRS84 by default)"),
            _query("f", {"type": "string", "enum": ["json", "geojson"]}, "Format"),
        ],
        ("get", "/collections/{collection_id}/export"): [
            *_filters(),
            _query(
                "f",
                {"type": "string", "enum": sorted(EXPORT_FORMATS), "default": "geojson"},
                "Format of the file",
            ),
            _query(
                "geometry",
                {"type": "string", "enum": ["wkt", "lonlat", "none"], "default": "wkt"},
                "Geometry columns of a CSV export",
            ),
        ],
        ("get", "/collections/{collection_id}/h3"): [
            *_filters(),
            _query("f", {"type": "string", "enum": ["json", "csv"], "default": "json"}, "Format"),
        ],
        (
            "get",
            "/collections/{collection_id}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}",
        ): tile,
        ("get", "/tiles/{layer}/{z}/{x}/{y}.mvt"): tile,
        ("get", "/tiles/{layer}.json"): [DATETIME, CATEGORIES],
        ("get", "/cells/{hex_id}"): [
            DATETIME,
            CATEGORIES,
            _query(
                "bin",
                {"type": "string", "enum": ["day", "week", "month"], "default": "week"},
                "Bins of the series",
            ),
            _query("hotspot_run", run, "Gi* run (default: the map's)"),
            _query("emerging_run", run, "Emerging hot-spot run (default: the map's)"),
            _query("forecast_run", run, "Forecast run (default: the latest)"),
            _query(
                "events_limit",
                _integer(1, EVENTS_LIMIT_MAX, EVENTS_LIMIT),
                "Latest events listed (roles that read raw events)",
            ),
        ],
        ("get", "/open311/v2/requests.{fmt}"): [
            _query("service_request_id", _text(2000), "Comma-separated ids (overrides all)"),
            _query("service_code", _text(2000), "Comma-separated service codes"),
            _query("start_date", _text(40, format="date-time"), "W3C date-time"),
            _query("end_date", _text(40, format="date-time"), "W3C date-time (90 days at most)"),
            _query("status", _text(40), "open, closed or both (comma-separated)"),
            _query("lat", {"type": "number", "minimum": -90, "maximum": 90}, "Near: latitude"),
            _query("long", {"type": "number", "minimum": -180, "maximum": 180}, "Near: longitude"),
            _query(
                "radius",
                {"type": "number", "exclusiveMinimum": 0, "maximum": NEAR_MAX_RADIUS_M},
                f"Near: metres (at most {NEAR_MAX_RADIUS_M:.0f}; {MAX_RESULTS} requests max)",
            ),
        ],
        ("get", "/signalements"): [
            _query("state", _text(500), "Comma-separated workflow states"),
            _query("service_code", _text(2000), "Comma-separated service codes"),
            _query("limit", _integer(1, STAFF_PAGE_MAX, 50), "Reports per page"),
            _query("offset", _integer(0, 10_000_000, 0), "Reports to skip"),
        ],
    }


def _report_form(with_key: bool) -> dict[str, Any]:
    """The body of a resident's report (Open311 ``POST requests``), multipart or URL-encoded."""
    properties: dict[str, Any] = {
        "service_code": {"type": "string", "enum": list(services())},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "long": {"type": "number", "minimum": -180, "maximum": 180},
        "address_string": _text(500),
        "description": _text(DESCRIPTION_MAX),
        "media_url": _text(2000),
        "email": _text(254),
        "first_name": _text(100),
        "last_name": _text(100),
        "phone": _text(25),
        "idempotency_key": _text(200),
    }
    if with_key:
        properties["api_key"] = _text(200)
    form: dict[str, Any] = {
        "type": "object",
        "required": ["service_code"],
        "properties": properties,
    }
    multipart = copy.deepcopy(form)
    multipart["properties"]["media"] = {"type": "string", "format": "binary"}
    return {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": multipart},
            "application/x-www-form-urlencoded": {"schema": form},
        },
    }


def _success_content(path: str, method: str) -> dict[str, Any] | None:
    """The media types of a route's success answer, where FastAPI cannot know them."""
    if path == "/collections/{collection_id}/items":
        types: dict[str, Any] = {f.media_type.split(";")[0]: {} for f in EXPORT_FORMATS.values()}
        types[GEOJSON] = {"schema": {"$ref": "#/components/schemas/FeatureCollection"}}
        return types
    if path == "/collections/{collection_id}/queryables":
        return {"application/schema+json": {"schema": {"type": "object"}}}
    if path == "/collections/{collection_id}/items/{feature_id}":
        return {GEOJSON: {"schema": {"type": "object", "required": ["type"]}}}
    if path == "/collections/{collection_id}/export":
        return {f.media_type.split(";")[0]: {} for f in EXPORT_FORMATS.values()}
    if path == "/collections/{collection_id}/h3":
        return {JSON: {"schema": {"type": "array", "items": {"type": "object"}}}, CSV: {}}
    if path == "/reports":
        return {JSON: {"schema": {"type": "object"}}, CSV: {}}
    if path.startswith(OPEN311) and method in ("get", "post"):
        return {JSON: {}, XML: {}}
    if path.endswith(".mvt") or "/tiles/WebMercatorQuad/{" in path:
        return {MVT: {}}
    if path == "/signalements/{service_request_id}/photo":
        return {"image/jpeg": {}, "image/png": {}, "image/webp": {}}
    return None


def _error_content(path: str) -> dict[str, Any]:
    if path.startswith(OPEN311):
        ref = {"schema": {"$ref": "#/components/schemas/Open311Errors"}}
        return {JSON: ref, XML: {}}
    return {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses a route may answer."""
    statuses = ["400", "503"]
    restricted = operation.get("x-access", "everyone") != "everyone"
    per_collection = bool(operation.get("x-access-per-collection"))
    if restricted or per_collection:
        statuses += ["401", "403"]
    if per_collection or "{" in path or path == "/reports":  # a report's area or zone
        statuses.append("404")
    if method == "post" and (path.startswith(OPEN311) or path == "/habitants/signalements"):
        statuses += ["413", "429"]
    if path in ("/reports", "/zones") and method == "post":
        statuses.append("422")
    if path.endswith(".mvt") or "/tiles/WebMercatorQuad/{" in path:
        statuses.append("304")
    if path in ("/collections/{collection_id}/items", "/collections/{collection_id}/export"):
        statuses.append("304")  # a file export whose ETag the client has
    if path.startswith("/auth/"):  # single sign-on: redirects, or 404 when not configured
        statuses += ["302", "303", "401", "403", "404"]
    if method in ("get", "head"):
        statuses.append("429")  # the read limit of the public and partners
    return list(dict.fromkeys(statuses))


#: path parameters whose accepted values the document can state
PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "fmt": {"type": "string", "enum": ["json", "xml"]},
    "z": {"type": "integer", "minimum": 0, "maximum": MAX_ZOOM},
    "tileMatrix": {"type": "integer", "minimum": 0, "maximum": MAX_ZOOM},
    "x": {"type": "integer", "minimum": 0, "maximum": 2**MAX_ZOOM - 1},
    "y": {"type": "integer", "minimum": 0, "maximum": 2**MAX_ZOOM - 1},
    "tileRow": {"type": "integer", "minimum": 0, "maximum": 2**MAX_ZOOM - 1},
    "tileCol": {"type": "integer", "minimum": 0, "maximum": 2**MAX_ZOOM - 1},
    "zone_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
}


def _path_schemas(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path" and parameter.get("name") in PATH_SCHEMAS:
            title = parameter.get("schema", {}).get("title")
            parameter["schema"] = {**PATH_SCHEMAS[parameter["name"]]}
            if title:
                parameter["schema"]["title"] = title


def complete(doc: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """``doc`` (FastAPI's document) with the parameters, statuses and media types above."""
    doc = copy.deepcopy(doc)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    schemas["Open311Errors"] = OPEN311_ERRORS_SCHEMA
    schemas["FeatureCollection"] = FEATURE_COLLECTION_SCHEMA
    schemas.pop("HTTPValidationError", None)  # validation errors are 400 {"code", ...}
    schemas.pop("ValidationError", None)
    components["securitySchemes"] = {
        "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "Bearer": {"type": "http", "scheme": "bearer"},
        "ApiKeyQuery": {"type": "apiKey", "in": "query", "name": "api_key"},
    }
    parameters = _parameters(settings)
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            _path_schemas(operation)
            declared = {p.get("name") for p in operation.get("parameters", [])}
            extra = [p for p in parameters.get((method, path), []) if p["name"] not in declared]
            if extra:
                operation["parameters"] = [*operation.get("parameters", []), *extra]
            if method == "post" and path in (
                "/open311/v2/requests.{fmt}",
                "/habitants/signalements",
            ):
                operation.setdefault("requestBody", _report_form(path.startswith(OPEN311)))
            responses = operation["responses"]
            responses.pop("422", None)
            content = _success_content(path, method)
            if content is not None:
                for status, response in responses.items():
                    if status.startswith("2") and status != "204":
                        response["content"] = content
            page = any(HTML in r.get("content", {}) for r in responses.values())
            for status in _statuses(path, method, operation):
                response = {"description": ERROR_REASONS[status]}
                if status in ("302", "303"):
                    responses.setdefault(status, response)
                    continue
                if path.startswith("/auth/"):  # French pages for people, JSON for scripts
                    response["content"] = {**_error_content(path), HTML: {}}
                    responses.setdefault(status, response)
                    continue
                if status != "304":
                    response["content"] = _error_content(path)
                    if page and status == "503":  # MapLibre missing: a page that says so
                        response["content"][HTML] = {}
                responses.setdefault(status, response)
            if operation.get("x-access", "everyone") != "everyone":
                operation["security"] = [{"ApiKeyHeader": []}, {"Bearer": []}, {"ApiKeyQuery": []}]
    return doc


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Serve the completed document at ``app.openapi_url`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = complete(doc, settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
