"""OGC API - Tiles, the XYZ alias, TileJSON 3.0: vector tiles of every collection."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from geotranquil.api.audit import record_request
from geotranquil.api.deps import (
    CallerDep,
    Reader,
    ReaderDep,
    ServicesDep,
    access,
    readable_collection,
)
from geotranquil.api.ogc_features import base_url
from geotranquil.features.catalogue import Catalogue, Collection
from geotranquil.roles import EVERYONE, Role
from geotranquil.services import audit
from geotranquil.services.tiles import BASEMAP, get_tile
from geotranquil.tiles.census import count_features, tile_bounds
from geotranquil.tiles.mvt import (
    BASEMAP_LAYERS,
    EVENT_COUNT_PROPERTIES,
    EVENT_POINTS_MIN_ZOOM,
    EVENT_TILE_PROPERTIES,
    STREETS_LAYER,
    STREETS_MIN_ZOOM,
    layer_for,
)
from geotranquil.tiles.tms import MAX_ZOOM, TMS_ID, TMS_URI, tile_matrix_set, tilejson

MVT = "application/vnd.mapbox-vector-tile"
router = APIRouter(tags=["OGC API - Tiles"])


_COUNTED: OrderedDict[str, int] = OrderedDict()
_COUNTED_MAX = 4096
_COUNTED_LOCK = threading.Lock()


def _feature_count(etag: str, data: bytes) -> int:
    """The features of a tile for its audit row, counted once per tile version: the ETag
    names the tile's content (layer, tile, data version, filters), and a cached tile is served
    many times."""
    with _COUNTED_LOCK:
        found = _COUNTED.get(etag)
        if found is not None:
            _COUNTED.move_to_end(etag)
            return found
    n = count_features(data)
    with _COUNTED_LOCK:
        _COUNTED[etag] = n
        if len(_COUNTED) > _COUNTED_MAX:
            _COUNTED.popitem(last=False)
    return n


def _tile_response(
    request: Request,
    services: ServicesDep,
    caller: CallerDep,
    reader: Reader,
    layer: str,
    z: int,
    x: int,
    y: int,
) -> Response:
    # the data version that keys the tile cache comes from the database the tile is cut from
    version, catalogue = reader.catalogue.get()
    tile = get_tile(
        engine=reader.engine,
        cache=services.tiles,
        version=version,
        catalogue=catalogue,
        layer_id=layer,
        z=z,
        x=x,
        y=y,
        query=dict(request.query_params),
        role=caller.role,
        settings=services.settings,
    )
    collection = catalogue.collections.get(layer)
    if (
        collection is not None
        and audit.reads_raw_events(collection)
        and not layer_for(collection, catalogue, z).aggregated
    ):  # event points (counts below their zoom are not recorded)
        record_request(
            request,
            services,
            caller,
            audit.READ_EVENTS,
            rows=_feature_count(tile.etag, tile.data),
            bbox=tile_bounds(z, x, y),
        )
    scope = "public" if caller.role is Role.PUBLIC else "private"
    headers = {
        "ETag": tile.etag,
        "Cache-Control": f"{scope}, max-age={services.settings.tile_max_age_s}",
        "Vary": "X-API-Key, Authorization, Cookie, Accept-Encoding",  # Cookie: staff signed in
        "X-Cache": tile.cache,
    }
    if tile.etag in request.headers.get("If-None-Match", ""):
        return Response(status_code=304, headers=headers)
    if not tile.data:
        return Response(status_code=204, headers=headers)
    if tile.gzipped is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(tile.gzipped, media_type=MVT, headers=headers)
    return Response(tile.data, media_type=MVT, headers=headers)


@router.get(
    "/collections/{collection_id}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}",
    summary="A vector tile of a collection (OGC API - Tiles)",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}, 204: {"description": "Empty tile"}},
    **access(EVERYONE, per_collection=True),
)
def ogc_tile(
    collection_id: str,
    tileMatrix: int,  # noqa: N803 - the standard's names
    tileRow: int,  # noqa: N803
    tileCol: int,  # noqa: N803
    request: Request,
    services: ServicesDep,
    caller: CallerDep,
    reader: ReaderDep,
) -> Response:
    return _tile_response(
        request, services, caller, reader, collection_id, tileMatrix, tileCol, tileRow
    )


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.mvt",
    summary="A vector tile (XYZ alias; layer = a collection id or basemap)",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}, 204: {"description": "Empty tile"}},
    **access(EVERYONE, per_collection=True),
)
def xyz_tile(
    layer: str,
    z: int,
    x: int,
    y: int,
    request: Request,
    services: ServicesDep,
    caller: CallerDep,
    reader: ReaderDep,
) -> Response:
    return _tile_response(request, services, caller, reader, layer, z, x, y)


def _fields(collection: Collection) -> dict[str, str]:
    return {p.name: p.title for p in collection.properties}


def _vector_layers(layer: str, catalogue: Catalogue, collection: Collection | None) -> list[Any]:
    if collection is None:
        return [
            {
                "id": name,
                "fields": {"code": "Code", "name": "Nom"},
                "minzoom": 0,
                "maxzoom": MAX_ZOOM,
            }
            for base in BASEMAP_LAYERS
            for name in (base, f"{base}_labels")
        ] + [
            {
                "id": STREETS_LAYER,
                "description": "Voies de la Base Adresse Nationale, le long de leurs adresses",
                "fields": {"name": "Nom de la voie", "street_key": "Identifiant BAN de la voie"},
                "minzoom": STREETS_MIN_ZOOM,
                "maxzoom": MAX_ZOOM,
            }
        ]
    layers = [
        {
            "id": collection.id,
            "description": collection.title,
            "fields": _fields(collection),
            "minzoom": EVENT_POINTS_MIN_ZOOM if collection.id == "events" else 0,
            "maxzoom": MAX_ZOOM,
        }
    ]
    if collection.id == "events":
        titles = {**_fields(catalogue.collections["counts-r9"]), **_fields(collection)}
        layers[0]["description"] = (
            "Événements : points à partir du zoom "
            f"{EVENT_POINTS_MIN_ZOOM}, nombres par hexagone en dessous"
        )
        layers[0]["fields"] = {
            n: titles[n] for n in (*EVENT_COUNT_PROPERTIES, *EVENT_TILE_PROPERTIES)
        }
        layers[0]["minzoom"] = 0
    return layers


@router.get(
    "/tiles/{layer}.json",
    summary="TileJSON 3.0 of a tile layer",
    **access(EVERYONE, per_collection=True),
)
def tile_json(
    layer: str, request: Request, services: ServicesDep, caller: CallerDep, reader: ReaderDep
) -> JSONResponse:
    _, catalogue = reader.catalogue.get()
    collection = None
    if layer != BASEMAP:
        catalogue, collection = readable_collection(reader, caller, layer)
    # never the caller's key in the URLs (a client sends it again with each tile, e.g. as a
    # header through MapLibre's transformRequest): a TileJSON is shared, logged, cached
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "api_key"])
    suffix = f"?{query}" if query else ""
    base = base_url(request)
    return JSONResponse(
        tilejson(
            name=layer,
            description=collection.description
            if collection
            else "Fond de carte hors ligne : commune, arrondissements et quartiers",
            tiles_url=f"{base}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt{suffix}",
            layers=_vector_layers(layer, catalogue, collection),
            bounds=catalogue.bbox,
        ),
        headers={"Cache-Control": f"max-age={services.settings.tile_max_age_s}"},
    )


@router.get("/tileMatrixSets", summary="Tile matrix sets", **access(EVERYONE))
def tile_matrix_sets(request: Request) -> JSONResponse:
    base = base_url(request)
    return JSONResponse(
        {
            "tileMatrixSets": [
                {
                    "id": TMS_ID,
                    "title": "Google Maps Compatible for the World",
                    "uri": TMS_URI,
                    "links": [
                        {
                            "href": f"{base}/tileMatrixSets/{TMS_ID}",
                            "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                            "type": "application/json",
                        }
                    ],
                }
            ]
        }
    )


@router.get("/tileMatrixSets/WebMercatorQuad", summary="WebMercatorQuad", **access(EVERYONE))
def web_mercator_quad() -> JSONResponse:
    return JSONResponse(tile_matrix_set())


def _tileset(collection: Collection, base: str) -> dict[str, Any]:
    url = f"{base}/collections/{collection.id}/tiles/{TMS_ID}"
    return {
        "title": f"{collection.title} — tuiles vectorielles",
        "tileMatrixSetURI": TMS_URI,
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "dataType": "vector",
        "links": [
            {"href": url, "rel": "self", "type": "application/json"},
            {
                "href": f"{base}/tileMatrixSets/{TMS_ID}",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                "type": "application/json",
            },
            {
                "href": f"{url}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}",
                "rel": "item",
                "type": MVT,
                "templated": True,
            },
            {
                "href": f"{base}/tiles/{collection.id}.json",
                "rel": "describedby",
                "type": "application/json",
                "title": "TileJSON",
            },
        ],
    }


@router.get(
    "/collections/{collection_id}/tiles",
    summary="Tile sets of a collection",
    **access(EVERYONE, per_collection=True),
)
def tilesets(
    collection_id: str, request: Request, caller: CallerDep, reader: ReaderDep
) -> JSONResponse:
    _catalogue, found = readable_collection(reader, caller, collection_id)
    return JSONResponse({"tilesets": [_tileset(found, base_url(request))]})


@router.get(
    "/collections/{collection_id}/tiles/WebMercatorQuad",
    summary="Tile set metadata of a collection",
    **access(EVERYONE, per_collection=True),
)
def tileset(
    collection_id: str, request: Request, caller: CallerDep, reader: ReaderDep
) -> JSONResponse:
    catalogue, found = readable_collection(reader, caller, collection_id)
    doc = _tileset(found, base_url(request))
    doc["layers"] = [
        {
            "id": layer["id"],
            "dataType": "vector",
            "geometryType": "points" if found.geometry_type == "Point" else "polygons",
            "propertiesSchema": {
                "type": "object",
                "properties": {n: {"description": t} for n, t in layer["fields"].items()},
            },
        }
        for layer in _vector_layers(found.id, catalogue, found)
    ]
    return JSONResponse(doc)
