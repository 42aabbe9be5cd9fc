"""Exports of a collection's items: GeoJSON and CSV streamed, GeoParquet, GeoPackage, FlatGeobuf."""

from __future__ import annotations

import itertools
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from geotranquil.api.deps import CallerDep, Services, ServicesDep, access, readable_collection
from geotranquil.errors import InvalidInput
from geotranquil.exports.writers import EXPORT_FORMATS, csv_stream, geojson_stream, write_file
from geotranquil.features.catalogue import Catalogue, Collection
from geotranquil.features.params import ItemsRequest
from geotranquil.features.query import export_rows
from geotranquil.roles import EVERYONE
from geotranquil.services.access import Caller
from geotranquil.services.features import checked_request, context_of

router = APIRouter(tags=["Exports"])
T = TypeVar("T")
_END = object()
CSV_GEOMETRY = ("wkt", "lonlat", "none")


def started(chunks: Iterator[T]) -> Iterator[T]:
    """``chunks`` with its first item already read: a bad filter or parameter, found when the
    query runs, is then an error response rather than a connection cut after a 200 began."""
    first = next(chunks, _END)
    if first is _END:
        return iter(())
    return itertools.chain([first], chunks)  # type: ignore[list-item]


def export_response(
    *,
    services: Services,
    catalogue: Catalogue,
    collection: Collection,
    request: ItemsRequest,
    caller: Caller,
    paged: bool = True,
    csv_geometry: str = "wkt",
) -> Response:
    """The items of ``request`` in its format ``f``: a page (items) or everything (export)."""
    name = "geojson" if request.format == "json" else request.format
    fmt = EXPORT_FORMATS[name]
    columns = list(request.properties or [p.name for p in collection.properties])
    types = {p.name: p.type for p in collection.properties}
    limit = request.limit if paged else services.settings.export_max_rows
    offset = request.offset if paged else 0
    conn = services.engine.connect()

    def chunks() -> Iterator[list[dict[str, Any]]]:
        yield from export_rows(
            conn=conn,
            collection=collection,
            request=request,
            context=context_of(caller.role, services.settings),
            limit=limit,
            offset=offset,
        )

    filename = f"{collection.id}{fmt.extension}"
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Content-Crs": request.crs.header,
    }
    if fmt.streamed:
        try:
            rows = started(chunks())
        except BaseException:
            conn.close()
            raise

        def body() -> Iterator[bytes]:
            try:
                if name == "csv":
                    yield from csv_stream(rows, columns=columns, geometry=csv_geometry)
                else:
                    yield from geojson_stream(
                        rows,
                        columns=columns,
                        crs_uri=request.crs.uri,
                        lat_lon=request.crs.lat_lon,
                    )
            finally:
                conn.close()

        return StreamingResponse(body(), media_type=fmt.media_type, headers=headers)
    handle, tmp = tempfile.mkstemp(suffix=fmt.extension, prefix="geotranquil-export-")
    os.close(handle)
    path = Path(tmp)
    path.unlink()  # the writers create the file themselves
    try:
        write_file(
            chunks(),
            path=path,
            fmt=name,
            columns=columns,
            types=types,
            srid=request.crs.srid,
            layer=collection.id.replace("-", "_"),
            geometry_type=collection.geometry_type,
        )
    except Exception:
        path.unlink(missing_ok=True)
        raise
    finally:
        conn.close()
    return FileResponse(
        path,
        media_type=fmt.media_type,
        filename=filename,
        headers={"Content-Crs": request.crs.header},
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.get(
    "/collections/{collection_id}/export",
    summary="All matching items of a collection as a file (f = geojson, csv, parquet, gpkg, fgb)",
    response_class=Response,
    **access(EVERYONE, per_collection=True),
)
def export(
    collection_id: str, request: Request, services: ServicesDep, caller: CallerDep
) -> Response:
    query = dict(request.query_params)
    csv_geometry = query.pop("geometry", "wkt")
    if csv_geometry not in CSV_GEOMETRY:
        raise InvalidInput(
            f"paramètre geometry : « {csv_geometry} » inconnu ; {', '.join(CSV_GEOMETRY)}"
        )
    if "limit" in query or "offset" in query:
        raise InvalidInput("l'export contient tous les objets : limit et offset sont pour /items")
    query.setdefault("f", "geojson")
    catalogue, collection = readable_collection(services, caller, collection_id)
    checked = checked_request(
        catalogue=catalogue,
        collection=collection,
        query=query,
        role=caller.role,
        settings=services.settings,
    )
    return export_response(
        services=services,
        catalogue=catalogue,
        collection=collection,
        request=checked,
        caller=caller,
        paged=False,
        csv_geometry=csv_geometry,
    )


def _h3_json(chunks: Iterator[list[dict[str, Any]]], columns: list[str]) -> Iterator[bytes]:
    yield b"["
    first = True
    for chunk in chunks:
        rows = [{c: row[c] for c in columns} for row in chunk]
        text_ = json.dumps(jsonable_encoder(rows), ensure_ascii=False)[1:-1]
        if text_:
            yield (text_ if first else "," + text_).encode()
            first = False
    yield b"]"


@router.get(
    "/collections/{collection_id}/h3",
    summary="A hexagon layer as compact H3 rows (hex_id + metrics) for deck.gl and kepler.gl",
    response_class=Response,
    **access(EVERYONE, per_collection=True),
)
def h3_rows(
    collection_id: str, request: Request, services: ServicesDep, caller: CallerDep
) -> Response:
    query = dict(request.query_params)
    fmt = query.pop("f", "json")
    if fmt not in ("json", "csv"):
        raise InvalidInput(f"paramètre f : « {fmt} » inconnu ; json ou csv")
    catalogue, collection = readable_collection(services, caller, collection_id)
    if not collection.is_hexagons:
        raise InvalidInput(f"la collection « {collection.id} » n'est pas une couche d'hexagones H3")
    checked = checked_request(
        catalogue=catalogue,
        collection=collection,
        query=query,
        role=caller.role,
        settings=services.settings,
    )
    columns = list(checked.properties or [p.name for p in collection.properties])
    if "hex_id" not in columns:
        columns.insert(0, "hex_id")
    checked = replace(checked, properties=tuple(columns))
    conn = services.engine.connect()

    def chunks() -> Iterator[list[dict[str, Any]]]:
        try:
            yield from export_rows(
                conn=conn,
                collection=collection,
                request=checked,
                context=context_of(caller.role, services.settings),
                limit=services.settings.export_max_rows,
            )
        finally:
            conn.close()

    rows = started(chunks())
    if fmt == "csv":
        body = csv_stream(rows, columns=columns, geometry="none")
        return StreamingResponse(body, media_type="text/csv; charset=utf-8")
    return StreamingResponse(_h3_json(rows, columns), media_type="application/json")
