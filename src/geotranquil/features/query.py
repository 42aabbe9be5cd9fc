"""Items queries: a collection's source SQL, composed clause by clause with bound values.

PostGIS writes each feature as GeoJSON text; Python only joins the pieces, so a page of 1,000
features costs one round trip and no object per row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, text

from geotranquil.errors import NotFound
from geotranquil.features.catalogue import Collection, SourceContext
from geotranquil.features.cql2 import compile_filter
from geotranquil.features.crs import CRS84, Crs
from geotranquil.features.params import ItemsRequest, filter_json


@dataclass(frozen=True)
class Page:
    """A page of features as GeoJSON texts, and how many features match in all."""

    features: list[str]
    number_matched: int
    #: the id of the page's last feature when more follow (the next page's ``after``)
    next_after: str | None = None


def context_for(request: ItemsRequest, base: SourceContext) -> SourceContext:
    """The source context of a request: its period, categories and bbox, for aggregating sources.

    Everything else (the role and its limits: ``public_min_count``, ``public_until``) is the
    caller's, from ``base``.
    """
    return replace(
        base,
        start=request.start,
        end=request.end,
        categories=request.categories,
        envelope=_envelope(request) if request.bbox is not None else None,
    )


def _envelope(request: ItemsRequest) -> str:
    envelope = f"ST_MakeEnvelope(:bx0, :by0, :bx1, :by1, {int(request.bbox_crs.srid)})"
    if request.bbox_crs.srid != 4326:
        envelope = f"ST_Transform({envelope}, 4326)"
    return envelope


def geometry_sql(crs: Crs, column: str = "s.geom") -> str:
    """SQL of the geometry in ``crs`` (a trusted, catalogued CRS).

    Examples
    --------
    >>> from geotranquil.features.crs import EPSG4326, LAMBERT93
    >>> geometry_sql(EPSG4326), geometry_sql(LAMBERT93)
    ('ST_FlipCoordinates(s.geom)', 'ST_Transform(s.geom, 2154)')
    """
    if crs.srid == 4326:
        return f"ST_FlipCoordinates({column})" if crs.lat_lon else column
    return f"ST_Transform({column}, {int(crs.srid)})"


def where_clause(collection: Collection, request: ItemsRequest) -> tuple[str, dict[str, Any]]:
    """The ``WHERE`` of an items request over the source aliased ``s`` (``TRUE`` if none)."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if request.bbox is not None:
        params.update(zip(("bx0", "by0", "bx1", "by1"), request.bbox, strict=True))
        envelope = _envelope(request)
        if collection.geometry_type == "Point":  # a point meets a box iff it is in its bbox
            clauses.append(f"s.geom && {envelope}")
        else:
            clauses.append(f"s.geom && {envelope} AND ST_Intersects(s.geom, {envelope})")
    if collection.temporal is not None and not collection.aggregates_time:
        column = f"s.{collection.property(collection.temporal).name}"
        if request.start is not None:
            clauses.append(f"{column} >= :dt0")
            params["dt0"] = request.start
        if request.end is not None:
            clauses.append(f"{column} < :dt1")
            params["dt1"] = request.end
    for i, (name, value) in enumerate(request.equals):
        clauses.append(f"s.{collection.property(name).name} = :eq{i}")
        params[f"eq{i}"] = value
    if request.filter is not None:
        expression: str | dict[str, Any] = request.filter
        if request.filter_lang == "cql2-json":
            expression = filter_json(request.filter)
        sql, bound = compile_filter(
            expression,
            request.filter_lang,
            collection.queryables(),
            filter_srid=request.filter_crs.srid,
            lat_lon=request.filter_crs.lat_lon,
        )
        clauses.append(f"({sql})")
        params.update(bound)
    return (" AND ".join(clauses) or "TRUE"), params


def order_clause(collection: Collection, request: ItemsRequest) -> str:
    """``ORDER BY`` of the request's ``sortby``, then the feature id for stable paging."""
    parts = [
        f"s.{collection.property(name).name} {'ASC' if asc else 'DESC'} "
        f"NULLS {'LAST' if asc else 'FIRST'}"
        for name, asc in request.sortby
    ]
    return ", ".join([*parts, "s.fid"])


def _feature_sql(collection: Collection, names: tuple[str, ...], crs: Crs) -> str:
    props = ", ".join(
        f"'{collection.property(n).name}', s.{collection.property(n).name}" for n in names
    )
    return (
        "json_build_object('type', 'Feature', 'id', s.fid, 'geometry', "
        f"ST_AsGeoJSON({geometry_sql(crs)}, {int(crs.digits)})::json, "
        f"'properties', json_build_object({props}))::text"
    )


def items_page(
    *, conn: Connection, collection: Collection, request: ItemsRequest, context: SourceContext
) -> Page:
    """One page of features and the number of all matching features."""
    source, params = collection.source(context_for(request, context))
    where, bound = where_clause(collection, request)
    params = {**params, **bound, "lim": request.limit + 1, "off": request.offset}
    names = request.properties or tuple(p.name for p in collection.properties)
    page_where = where
    if request.after is not None:  # keyset: no row before the cursor is read, however deep
        page_where = f"({where}) AND s.fid > :after"
        params["after"] = request.after
    rows = conn.execute(
        text(
            f"SELECT s.fid::text, {_feature_sql(collection, names, request.crs)} "
            f"FROM ({source}) AS s WHERE {page_where} "
            f"ORDER BY {order_clause(collection, request)} LIMIT :lim OFFSET :off"
        ),
        params,
    ).all()
    more = len(rows) > request.limit  # one row beyond the page says whether another follows
    rows = rows[: request.limit]
    features = [r[1] for r in rows]
    if request.offset == 0 and request.after is None and not more:
        matched = len(features)  # the whole result is on this page
    else:
        matched = int(
            conn.execute(
                text(f"SELECT count(*) FROM ({source}) AS s WHERE {where}"), params
            ).scalar_one()
        )
    return Page(features, matched, rows[-1][0] if more and not request.sortby else None)


def one_feature(
    *,
    conn: Connection,
    collection: Collection,
    feature_id: str,
    context: SourceContext,
    crs: Crs = CRS84,
) -> str:
    """One feature as GeoJSON text; NotFound if the collection has no such id."""
    fid: Any = feature_id
    if collection.id_type == "integer":
        if not feature_id.isdigit() or len(feature_id) > 18:
            raise NotFound(f"objet « {feature_id} » introuvable dans « {collection.id} »")
        fid = int(feature_id)
    source, params = collection.source(context)
    names = tuple(p.name for p in collection.properties)
    row = conn.execute(
        text(
            f"SELECT {_feature_sql(collection, names, crs)} FROM ({source}) AS s WHERE s.fid = :fid"
        ),
        {**params, "fid": fid},
    ).first()
    if row is None:
        raise NotFound(f"objet « {feature_id} » introuvable dans « {collection.id} »")
    return str(row[0])


def export_rows(
    *,
    conn: Connection,
    collection: Collection,
    request: ItemsRequest,
    context: SourceContext,
    chunk_rows: int = 10_000,
    limit: int | None = None,
    offset: int = 0,
) -> Iterator[list[dict[str, Any]]]:
    """Every matching feature (no paging), in chunks of dicts with ``geometry_wkb``.

    Read through a server-side cursor, so memory stays flat whatever the number of rows.
    """
    source, params = collection.source(context_for(request, context))
    where, bound = where_clause(collection, request)
    names = request.properties or tuple(p.name for p in collection.properties)
    cols = ", ".join(f"s.{collection.property(n).name}" for n in names)
    sql = (
        f"SELECT {cols}, ST_AsBinary({geometry_sql(request.crs)}) AS geometry_wkb "
        f"FROM ({source}) AS s WHERE {where} ORDER BY {order_clause(collection, request)}"
    )
    all_params = {**params, **bound}
    if limit is not None:
        sql += " LIMIT :lim"
        all_params["lim"] = limit
    if offset:
        sql += " OFFSET :off"
        all_params["off"] = offset
    result = conn.execution_options(stream_results=True, max_row_buffer=chunk_rows).execute(
        text(sql), all_params
    )
    keys = [*names, "geometry_wkb"]
    while True:
        rows = result.fetchmany(chunk_rows)
        if not rows:
            break
        yield [dict(zip(keys, row, strict=True)) for row in rows]


def feature_collection_text(
    features: list[str], *, number_matched: int, links: list[dict[str, Any]], timestamp: str
) -> str:
    """The GeoJSON FeatureCollection of a page, assembled from per-feature texts."""
    head = json.dumps(
        {
            "type": "FeatureCollection",
            "numberMatched": number_matched,
            "numberReturned": len(features),
            "timeStamp": timestamp,
            "links": links,
        },
        ensure_ascii=False,
    )
    return head[:-1] + ', "features": [' + ",".join(features) + "]}"
