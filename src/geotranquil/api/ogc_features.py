"""OGC API - Features (Part 1 Core + GeoJSON, Part 2 CRS, Part 3 Filtering): the routes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from geotranquil import __version__
from geotranquil.api.audit import record_request
from geotranquil.api.deps import CallerDep, ReaderDep, ServicesDep, access, readable_collection
from geotranquil.api.exports import export_response
from geotranquil.errors import InvalidInput
from geotranquil.features.catalogue import Catalogue, Collection
from geotranquil.features.cql2 import SUPPORTED_CONFORMANCE
from geotranquil.features.crs import CRS84, SUPPORTED, parse_crs
from geotranquil.features.query import feature_collection_text
from geotranquil.roles import EVERYONE
from geotranquil.services import audit
from geotranquil.services.features import (
    find_collection,
    read_feature,
    read_items,
    visible_time_range,
)

GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    *SUPPORTED_CONFORMANCE,
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
)

router = APIRouter(tags=["OGC API - Features"])


def base_url(request: Request) -> str:
    """The service's root URL as the client reached it (no trailing slash)."""
    return str(request.base_url).rstrip("/")


def _link(href: str, rel: str, type_: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": type_, "title": title}


@router.get("/", summary="Landing page (OGC API)", **access(EVERYONE))
def landing(request: Request) -> JSONResponse:
    base = base_url(request)
    return JSONResponse(
        {
            "title": "geotranquil — tranquillité publique à Marseille",
            "description": "Événements, comptages par hexagone H3, points chauds et limites "
            "administratives, en OGC API Features et Tiles.",
            "version": __version__,
            "links": [
                _link(f"{base}/", "self", "application/json", "Cette page"),
                _link(f"{base}/api", "service-desc", OPENAPI, "Définition OpenAPI"),
                _link(f"{base}/api/docs", "service-doc", "text/html", "Documentation de l'API"),
                _link(f"{base}/conformance", "conformance", "application/json", "Conformité"),
                _link(f"{base}/collections", "data", "application/json", "Collections"),
                _link(
                    f"{base}/tileMatrixSets",
                    "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
                    "application/json",
                    "Grilles de tuiles",
                ),
            ],
        }
    )


@router.get("/conformance", summary="Conformance classes", **access(EVERYONE))
def conformance() -> JSONResponse:
    return JSONResponse({"conformsTo": list(CONFORMANCE)})


def collection_json(
    collection: Collection,
    catalogue: Catalogue,
    base: str,
    *,
    time_range: tuple[datetime | None, datetime | None],
    self_rel: str = "self",
) -> dict[str, Any]:
    """The description of a collection, with the links clients follow.

    ``time_range`` is the events' first and last instants as the caller may learn them
    (:func:`~geotranquil.services.features.visible_time_range`).
    """
    url = f"{base}/collections/{collection.id}"
    links = [
        _link(url, self_rel, "application/json", collection.title),
        _link(f"{url}/items", "items", GEOJSON, "Objets (GeoJSON)"),
        _link(f"{url}/items?f=csv", "items", "text/csv", "Objets (CSV)"),
        _link(
            f"{url}/queryables",
            "http://www.opengis.net/def/rel/ogc/1.0/queryables",
            "application/schema+json",
            "Propriétés interrogeables",
        ),
        _link(
            f"{url}/tiles",
            "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
            "application/json",
            "Tuiles vectorielles",
        ),
    ]
    extent: dict[str, Any] = {}
    if catalogue.bbox is not None:
        extent["spatial"] = {"bbox": [list(catalogue.bbox)], "crs": CRS84.uri}
    if collection.temporal or collection.aggregates_time:
        first, last = time_range
        extent["temporal"] = {
            "interval": [[_iso(first), _iso(last)]],
            "trs": TRS,
        }
    out: dict[str, Any] = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "keywords": list(collection.keywords),
        "itemType": "feature",
        "crs": [c.uri for c in SUPPORTED],
        "storageCrs": CRS84.uri,
        "extent": extent,
        "links": links,
    }
    if collection.is_hexagons:
        out["h3_resolution"] = collection.resolution
    if collection.run_id is not None:
        out["run_id"] = collection.run_id
    return out


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


@router.get("/collections", summary="Collections the caller may read", **access(EVERYONE))
def collections(
    request: Request, services: ServicesDep, caller: CallerDep, reader: ReaderDep
) -> JSONResponse:
    base = base_url(request)
    _, catalogue = reader.catalogue.get()
    period = visible_time_range(catalogue.time_range, caller.role, services.settings)
    return JSONResponse(
        {
            "links": [_link(f"{base}/collections", "self", "application/json", "Collections")],
            "collections": [
                collection_json(c, catalogue, base, time_range=period, self_rel="collection")
                for c in catalogue.visible(caller.role)
            ],
        }
    )


@router.get(
    "/collections/{collection_id}",
    summary="One collection",
    **access(EVERYONE, per_collection=True),
)
def collection(
    collection_id: str,
    request: Request,
    services: ServicesDep,
    caller: CallerDep,
    reader: ReaderDep,
) -> JSONResponse:
    catalogue, found = readable_collection(reader, caller, collection_id)
    period = visible_time_range(catalogue.time_range, caller.role, services.settings)
    return JSONResponse(collection_json(found, catalogue, base_url(request), time_range=period))


@router.get(
    "/collections/{collection_id}/queryables",
    summary="Queryable properties (JSON Schema)",
    **access(EVERYONE, per_collection=True),
)
def queryables(
    collection_id: str, request: Request, caller: CallerDep, reader: ReaderDep
) -> JSONResponse:
    _catalogue, found = readable_collection(reader, caller, collection_id)
    props: dict[str, Any] = {
        "geometry": {"$ref": f"https://geojson.org/schema/{found.geometry_type}.json"}
    }
    for prop in found.properties:
        schema: dict[str, Any] = {"title": prop.title}
        if prop.type in ("datetime", "date"):
            schema.update(type="string", format="date-time" if prop.type == "datetime" else "date")
        else:
            schema["type"] = prop.type
        props[prop.name] = schema
    url = f"{base_url(request)}/collections/{found.id}/queryables"
    return JSONResponse(
        {
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": url,
            "type": "object",
            "title": found.title,
            "properties": props,
            "additionalProperties": False,
        },
        media_type="application/schema+json",
    )


def _page_url(request: Request, offset: int | None = None, after: str | None = None) -> str:
    """This request's URL for another page: at ``offset``, or after the feature ``after``."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "after")]
    if after is not None:
        params.append(("after", after))
    elif offset:
        params.append(("offset", str(offset)))
    return f"{base_url(request)}{request.url.path}?{urlencode(params)}"


@router.get(
    "/collections/{collection_id}/items",
    summary="Items of a collection (GeoJSON; paging, bbox, datetime, filter, sortby, crs)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
    **access(EVERYONE, per_collection=True),
)
def items(
    collection_id: str,
    request: Request,
    services: ServicesDep,
    caller: CallerDep,
    reader: ReaderDep,
) -> Response:
    _, catalogue = reader.catalogue.get()
    query = _single_valued(request)
    result = read_items(
        engine=reader.engine,
        catalogue=catalogue,
        collection_id=collection_id,
        query=query,
        role=caller.role,
        settings=services.settings,
    )
    req = result.request
    audited = audit.reads_raw_events(result.collection)
    if req.format not in ("json", "geojson"):
        return export_response(
            services=services,
            reader=reader,
            catalogue=catalogue,
            collection=result.collection,
            request=req,
            caller=caller,
            on_done=(
                lambda n: record_request(
                    request, services, caller, audit.READ_EVENTS, rows=n, bbox=req.bbox
                )
            )
            if audited
            else None,
            if_none_match=request.headers.get("If-None-Match"),
        )
    page = result.page
    if audited:
        record_request(
            request, services, caller, audit.READ_EVENTS, rows=len(page.features), bbox=req.bbox
        )
    self_url = str(request.url)
    links = [
        _link(self_url, "self", GEOJSON, "Cette page"),
        _link(
            f"{base_url(request)}/collections/{result.collection.id}",
            "collection",
            "application/json",
            result.collection.title,
        ),
    ]
    if page.next_after is not None:  # keyset paging: as fast on page 1,000 as on page 2
        links.append(_link(_page_url(request, after=page.next_after), "next", GEOJSON, "Suivante"))
    elif req.after is None and req.offset + len(page.features) < page.number_matched:
        links.append(_link(_page_url(request, req.offset + req.limit), "next", GEOJSON, "Suivante"))
    if req.offset > 0:
        links.append(
            _link(_page_url(request, max(0, req.offset - req.limit)), "prev", GEOJSON, "Précédente")
        )
    body = feature_collection_text(
        page.features,
        number_matched=page.number_matched,
        links=links,
        timestamp=_iso(datetime.now(UTC)) or "",
    )
    return Response(
        body,
        media_type=GEOJSON,
        headers={"Content-Crs": req.crs.header, **_cache_headers(caller.role.value)},
    )


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="One item of a collection",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
    **access(EVERYONE, per_collection=True),
)
def item(
    collection_id: str,
    feature_id: str,
    request: Request,
    services: ServicesDep,
    caller: CallerDep,
    reader: ReaderDep,
) -> Response:
    _, catalogue = reader.catalogue.get()
    unknown = sorted(set(request.query_params) - {"crs", "f", "api_key"})
    if unknown:
        raise InvalidInput(f"paramètre(s) inconnu(s) : {', '.join(unknown)} ; acceptés : crs, f")
    crs = parse_crs(request.query_params.get("crs"))
    text_ = read_feature(
        engine=reader.engine,
        catalogue=catalogue,
        collection_id=collection_id,
        feature_id=feature_id,
        role=caller.role,
        settings=services.settings,
        crs=crs,
    )
    found = find_collection(
        engine=reader.engine, catalogue=catalogue, collection_id=collection_id, role=caller.role
    )
    if audit.reads_raw_events(found):
        record_request(request, services, caller, audit.READ_EVENTS, rows=1)
    base = base_url(request)
    links = [
        _link(str(request.url), "self", GEOJSON, "Cet objet"),
        _link(
            f"{base}/collections/{collection_id}", "collection", "application/json", "Collection"
        ),
    ]
    body = text_[:-1] + ', "links": ' + json.dumps(links, ensure_ascii=False) + "}"
    return Response(body, media_type=GEOJSON, headers={"Content-Crs": crs.header})


def _single_valued(request: Request) -> dict[str, str]:
    """Query parameters; a parameter given twice is refused rather than silently dropped."""
    out: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in out:
            raise InvalidInput(f"paramètre {key} donné plusieurs fois")
        out[key] = value
    return out


def _cache_headers(role: str) -> dict[str, str]:
    return {"Cache-Control": "public, max-age=60" if role == "public" else "private, max-age=60"}
