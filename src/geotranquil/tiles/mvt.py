"""Mapbox vector tiles of any collection, cut by PostGIS (``ST_AsMVT``) in one statement.

Hexagon layers carry their statistics as attributes and the H3 index as feature id. The events
layer is never raw points at low zoom: below :data:`EVENT_POINTS_MIN_ZOOM` it is the counts of
the hexagons of a resolution suited to the zoom.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, text

from geotranquil.features.catalogue import Catalogue, Collection, SourceContext

EXTENT = 4096
BUFFER = 64
EVENT_POINTS_MIN_ZOOM = 14
MAX_POINTS = 10_000
#: attributes of event points in tiles; the rest (free text, labels) is in the items API
EVENT_TILE_PROPERTIES = ("category", "occurred_at", "source", "location_precision")
#: attributes of the event counts drawn below EVENT_POINTS_MIN_ZOOM
EVENT_COUNT_PROPERTIES = ("hex_id", "resolution", "count")
ENVELOPE_4326 = "ST_Transform(ST_TileEnvelope(:tz, :tx, :ty, margin => :tm), 4326)"


def resolution_for_zoom(zoom: int) -> int:
    """The H3 resolution whose hexagons read well at a web-map zoom.

    Examples
    --------
    >>> [resolution_for_zoom(z) for z in (8, 10, 12, 13, 15)]
    [7, 8, 9, 9, 10]
    """
    if zoom <= 9:
        return 7
    if zoom <= 11:
        return 8
    if zoom <= 13:
        return 9
    return 10


@dataclass(frozen=True)
class TileLayer:
    """What a tile of a collection at a zoom really draws."""

    name: str
    collection: Collection
    properties: tuple[str, ...]
    aggregated: bool = False


def layer_for(collection: Collection, catalogue: Catalogue, zoom: int) -> TileLayer:
    """The layer drawn for ``collection`` at ``zoom`` (events become counts at low zoom)."""
    if collection.id == "events":
        if zoom < EVENT_POINTS_MIN_ZOOM:
            counts = catalogue.collections[f"counts-r{resolution_for_zoom(zoom)}"]
            return TileLayer("events", counts, EVENT_COUNT_PROPERTIES, aggregated=True)
        return TileLayer("events", collection, EVENT_TILE_PROPERTIES)
    return TileLayer(collection.id, collection, tuple(p.name for p in collection.properties))


def tile_sql(
    layer: TileLayer,
    context: SourceContext,
    z: int,
    x: int,
    y: int,
    *,
    max_points: int = MAX_POINTS,
) -> tuple[str, dict[str, Any]]:
    """The one statement that returns the tile's bytes (empty when nothing is in it).

    A point layer keeps at most ``max_points`` features per tile, the most recent first (a
    dense tile of the centre would otherwise weigh megabytes and draw nothing readable).
    """
    collection = layer.collection
    source, params = collection.source(
        replace(context, envelope=ENVELOPE_4326, count_only=layer.aggregated)
    )
    params = {**params, "tz": z, "tx": x, "ty": y, "tm": BUFFER / EXTENT, "layer": layer.name}
    clauses = [f"s.geom && {ENVELOPE_4326}"]
    if not collection.aggregates_time and collection.temporal is not None:
        column = f"s.{collection.property(collection.temporal).name}"
        if context.start is not None:
            clauses.append(f"{column} >= :t0")
            params["t0"] = context.start
        if context.end is not None:
            clauses.append(f"{column} < :t1")
            params["t1"] = context.end
    if collection.id == "events" and context.categories:
        clauses.append("s.category = ANY(:tcats)")
        params["tcats"] = list(context.categories)
    if collection.id_type == "integer":
        fid = "s.fid"
    elif collection.is_hexagons:  # H3 hexagons: the 64-bit index itself
        fid = "('x' || lpad(s.fid, 16, '0'))::bit(64)::bigint"
    else:  # text ids (area codes) have no MVT feature id
        fid = "NULL::bigint"
    props = ", ".join(f"s.{collection.property(n).name}" for n in layer.properties)
    cap = ""
    if collection.geometry_type == "Point":
        order = (
            f"s.{collection.property(collection.temporal).name} DESC, "
            if collection.temporal
            else ""
        )
        cap = f" ORDER BY {order}s.fid LIMIT :maxpts"
        params["maxpts"] = max_points
    sql = (
        f"SELECT ST_AsMVT(t, :layer, {EXTENT}, 'geom', 'fid') FROM ("
        f"SELECT {fid} AS fid, ST_AsMVTGeom(ST_Transform(s.geom, 3857), "
        f"ST_TileEnvelope(:tz, :tx, :ty), {EXTENT}, {BUFFER}, true) AS geom, {props} "
        f"FROM ({source}) AS s WHERE {' AND '.join(clauses)}{cap}) AS t "
        "WHERE t.geom IS NOT NULL"
    )
    return sql, params


def render_tile(
    *,
    conn: Connection,
    layer: TileLayer,
    context: SourceContext,
    z: int,
    x: int,
    y: int,
    max_points: int = MAX_POINTS,
) -> bytes:
    """The encoded tile (``b""`` when empty)."""
    sql, params = tile_sql(layer, context, z, x, y, max_points=max_points)
    data = conn.execute(text(sql), params).scalar()
    return bytes(data) if data else b""


def basemap_sql(z: int, x: int, y: int) -> tuple[str, dict[str, Any]]:
    """Area outlines and label points for an offline base map, one MVT layer per area kind,
    and from :data:`STREETS_MIN_ZOOM` on the streets of the BAN with their names."""
    params: dict[str, Any] = {"tz": z, "tx": x, "ty": y, "tm": BUFFER / EXTENT}
    parts = []
    for kind, layer in (
        ("commune", "commune"),
        ("arrondissement", "arrondissements"),
        ("quartier", "quartiers"),
    ):
        parts.append(
            f"(SELECT ST_AsMVT(t, '{layer}', {EXTENT}, 'geom') FROM ("
            "SELECT ST_AsMVTGeom(ST_Transform(ST_Boundary(a.geom), 3857), "
            f"ST_TileEnvelope(:tz, :tx, :ty), {EXTENT}, {BUFFER}, true) AS geom, "
            f"a.code, a.name, a.population FROM areas a WHERE a.kind = '{kind}' "
            f"AND a.geom && {ENVELOPE_4326}) AS t WHERE t.geom IS NOT NULL)"
        )
        parts.append(
            f"(SELECT ST_AsMVT(t, '{layer}_labels', {EXTENT}, 'geom') FROM ("
            "SELECT ST_AsMVTGeom(ST_Transform(ST_PointOnSurface(a.geom), 3857), "
            f"ST_TileEnvelope(:tz, :tx, :ty), {EXTENT}, 0, true) AS geom, "
            f"a.code, a.name FROM areas a WHERE a.kind = '{kind}' "
            f"AND a.geom && {ENVELOPE_4326}) AS t WHERE t.geom IS NOT NULL)"
        )
    if z >= STREETS_MIN_ZOOM:
        parts.append(STREETS_SQL)
    return "SELECT " + " || ".join(f"coalesce({p}, ''::bytea)" for p in parts), params


BASEMAP_LAYERS = ("commune", "arrondissements", "quartiers")
#: the base map's street names (public data: the Base Adresse Nationale) from this zoom on
STREETS_MIN_ZOOM = 15
STREETS_LAYER = "streets"
#: One line per street of the BAN that has an address in the tile (with its margin): its house
#: numbers of one side (the side with more of them, so that the line does not zigzag across
#: the street), in numbering order, simplified to about a pixel at zoom 15 (3 m). Named places
#: (numero 99999) are no street. Lines of one address are left out: nothing to write along.
STREETS_SQL = (
    "(WITH here AS ("
    "SELECT DISTINCT b.street_key FROM ban_addresses b "
    f"WHERE b.geom && {ENVELOPE_4326} AND b.numero < 99999), "
    "numbers AS ("
    "SELECT b.street_key, b.nom_voie, b.numero, b.rep, b.geom, b.numero % 2 AS side, "
    "count(*) OVER (PARTITION BY b.street_key, b.numero % 2) AS on_side "
    "FROM ban_addresses b JOIN here ON here.street_key = b.street_key "
    "WHERE b.numero < 99999), "
    "chosen AS ("
    "SELECT DISTINCT ON (street_key) street_key, side FROM numbers "
    "ORDER BY street_key, on_side DESC, side), "
    "lines AS ("
    "SELECT n.street_key, min(n.nom_voie) AS name, "
    "ST_Simplify(ST_Transform(ST_MakeLine(n.geom ORDER BY n.numero, n.rep), 3857), 3) AS line "
    "FROM numbers n JOIN chosen c ON c.street_key = n.street_key AND c.side = n.side "
    "GROUP BY n.street_key HAVING count(*) >= 2) "
    f"SELECT ST_AsMVT(t, '{STREETS_LAYER}', {EXTENT}, 'geom') FROM ("
    f"SELECT ST_AsMVTGeom(l.line, ST_TileEnvelope(:tz, :tx, :ty), {EXTENT}, {BUFFER}, true) "
    "AS geom, l.name, l.street_key FROM lines l) AS t WHERE t.geom IS NOT NULL)"
)
