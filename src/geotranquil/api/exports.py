"""Exports of a collection's items: GeoJSON and CSV streamed, GeoParquet, GeoPackage, FlatGeobuf."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy import Connection, Engine
from starlette.background import BackgroundTask

from geotranquil.api.audit import record_request
from geotranquil.api.deps import (
    CallerDep,
    Reader,
    ReaderDep,
    Services,
    ServicesDep,
    access,
    readable_collection,
)
from geotranquil.errors import InvalidInput
from geotranquil.exports.cache import export_cache
from geotranquil.exports.writers import EXPORT_FORMATS, csv_stream, geojson_stream, write_file
from geotranquil.features.catalogue import Catalogue, Collection
from geotranquil.features.params import ItemsRequest
from geotranquil.features.query import export_rows
from geotranquil.roles import EVERYONE
from geotranquil.services import audit
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


def _counted_rows(
    conn: Connection,
    collection: Collection,
    request: ItemsRequest,
    context: Any,
    *,
    limit: int,
    offset: int,
    counter: list[int],
) -> Iterator[list[dict[str, Any]]]:
    """The rows of the export of ``request``, in chunks, each counted in ``counter[0]``."""
    for chunk in export_rows(
        conn=conn,
        collection=collection,
        request=request,
        context=context,
        limit=limit,
        offset=offset,
    ):
        counter[0] += len(chunk)
        yield chunk


def export_response(
    *,
    services: Services,
    reader: Reader,
    catalogue: Catalogue,
    collection: Collection,
    request: ItemsRequest,
    caller: Caller,
    paged: bool = True,
    csv_geometry: str = "wkt",
    if_none_match: str | None = None,
    on_done: Callable[[int], None] | None = None,
) -> Response:
    """The items of ``request`` in its format ``f``: a page (items) or everything (export).

    ``on_done`` is called with the number of rows sent once they are (streamed formats: the
    rows streamed, even if the client leaves early; files: the rows in the file, kept beside
    it in the cache): the audit trail's count.

    Files (GeoParquet, GeoPackage, FlatGeobuf) carry a strong ``ETag`` and are kept in the
    export cache: a client reading one by ranges gets the same file each time, without running
    the export again (``If-None-Match`` gives a 304).
    """
    name = "geojson" if request.format == "json" else request.format
    fmt = EXPORT_FORMATS[name]
    columns = list(request.properties or [p.name for p in collection.properties])
    types = {p.name: p.type for p in collection.properties}
    limit = request.limit if paged else services.settings.export_max_rows
    offset = request.offset if paged else 0
    context = context_of(caller.role, services.settings)
    filename = f"{collection.id}{fmt.extension}"
    if not fmt.streamed:
        cache = export_cache(
            services.settings.data_dir / "export-cache", services.settings.export_cache_entries
        )
        version, _ = reader.catalogue.get()  # the version of the data read
        key = cache.key(
            collection.id,
            repr(request),
            repr(context),
            caller.role.value,
            str(version),
            name,
            str(limit),
            str(offset),
        )
        headers = {
            "Content-Crs": request.crs.header,
            "ETag": f'"{key[:40]}"',
            "Cache-Control": "private, max-age=60",
        }
        if if_none_match and headers["ETag"] in if_none_match:
            return Response(status_code=304, headers=headers)
        cached = cache.get(key)
        written = [0]
        if cached is None:
            cached = _write_export(
                reader.engine,
                collection,
                request,
                context,
                cache.scratch(fmt.extension),
                name=name,
                columns=columns,
                types=types,
                limit=limit,
                offset=offset,
                written=written,
            )
            cached = cache.put(key, cached)
            if cache.entries > 0:
                rows_file = _rows_file(services, key)
                rows_file.parent.mkdir(parents=True, exist_ok=True)
                rows_file.write_text(str(written[0]))
        elif _rows_file(services, key).is_file():
            written[0] = int(_rows_file(services, key).read_text() or 0)
        if on_done is not None:
            on_done(written[0])
        background = None if cache.entries > 0 else BackgroundTask(cached.unlink, missing_ok=True)
        return FileResponse(
            cached,
            media_type=fmt.media_type,
            filename=filename,
            headers=headers,
            background=background,
        )
    conn = reader.engine.connect()
    sent = [0]

    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Content-Crs": request.crs.header,
    }
    try:
        rows = started(
            _counted_rows(
                conn, collection, request, context, limit=limit, offset=offset, counter=sent
            )
        )
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
            if on_done is not None:
                on_done(sent[0])

    return StreamingResponse(body(), media_type=fmt.media_type, headers=headers)


def _rows_file(services: Services, key: str) -> Path:
    """Where the number of rows of a cached export file is kept (for the audit trail)."""
    return services.settings.data_dir / "export-cache-rows" / key


def _write_export(
    engine: Engine,
    collection: Collection,
    request: ItemsRequest,
    context: Any,
    path: Path,
    *,
    name: str,
    columns: list[str],
    types: dict[str, str],
    limit: int,
    offset: int,
    written: list[int],
) -> Path:
    """Run the export of ``request`` into the file ``path`` (removed if it fails); the rows
    written are counted in ``written[0]``."""

    with engine.connect() as conn:
        try:
            write_file(
                _counted_rows(
                    conn, collection, request, context, limit=limit, offset=offset, counter=written
                ),
                path=path,
                fmt=name,
                columns=columns,
                types=types,
                srid=request.crs.srid,
                layer=collection.id.replace("-", "_"),
                geometry_type=collection.geometry_type,
            )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    return path


@router.get(
    "/collections/{collection_id}/export",
    summary="All matching items of a collection as a file (f = geojson, csv, parquet, gpkg, fgb)",
    response_class=Response,
    **access(EVERYONE, per_collection=True),
)
def export(
    collection_id: str,
    request: Request,
    services: ServicesDep,
    caller: CallerDep,
    reader: ReaderDep,
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
    catalogue, collection = readable_collection(reader, caller, collection_id)
    checked = checked_request(
        catalogue=catalogue,
        collection=collection,
        query=query,
        role=caller.role,
        settings=services.settings,
    )
    return export_response(
        services=services,
        reader=reader,
        catalogue=catalogue,
        collection=collection,
        request=checked,
        caller=caller,
        paged=False,
        csv_geometry=csv_geometry,
        if_none_match=request.headers.get("If-None-Match"),
        on_done=lambda n: record_request(
            request, services, caller, audit.EXPORT, rows=n, bbox=checked.bbox
        ),
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
    collection_id: str,
    request: Request,
    services: ServicesDep,
    caller: CallerDep,
    reader: ReaderDep,
) -> Response:
    query = dict(request.query_params)
    fmt = query.pop("f", "json")
    if fmt not in ("json", "csv"):
        raise InvalidInput(f"paramètre f : « {fmt} » inconnu ; json ou csv")
    catalogue, collection = readable_collection(reader, caller, collection_id)
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
    conn = reader.engine.connect()

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
