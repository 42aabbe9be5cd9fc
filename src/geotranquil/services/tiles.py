"""Serving vector tiles: the caller's view of a layer, cached and tagged by the data version."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace

from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.db.ban import latest_release_stamp
from geotranquil.db.engine import reading
from geotranquil.errors import InvalidInput
from geotranquil.features.catalogue import Catalogue, SourceContext
from geotranquil.features.params import parse_categories, parse_datetime
from geotranquil.roles import Role, is_restricted
from geotranquil.services.features import check_public_categories, context_of, find_collection
from geotranquil.services.tilecache import SharedTileCache, TileCache
from geotranquil.tiles.mvt import STREETS_MIN_ZOOM, basemap_sql, layer_for, render_tile
from geotranquil.tiles.tms import check_tile

BASEMAP = "basemap"
TILE_PARAMETERS = ("datetime", "categories", "api_key", "f")


#: gzip level of tiles: on real tiles 4 compresses as well as 6 in a third of the time
GZIP_LEVEL = 4
GZIP_MIN_BYTES = 1024


@dataclass(frozen=True)
class Tile:
    """Encoded tile bytes (empty when nothing is there), gzipped once, and their entity tag."""

    data: bytes
    gzipped: bytes | None
    etag: str
    cache: str = "MISS"  # the X-Cache header: MISS, or HIT; store=process|redis


def _gzip(data: bytes) -> bytes | None:
    if len(data) < GZIP_MIN_BYTES:
        return None
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def tile_context(
    query: Mapping[str, str], catalogue: Catalogue, role: Role, settings: Settings
) -> SourceContext:
    """The period and categories a tile request asks for, checked like an items request.

    The caller's own limits (restricted roles: ``public_until``) are those of :func:`context_of`.
    """
    unknown = sorted(set(query) - set(TILE_PARAMETERS))
    if unknown:
        raise InvalidInput(
            f"paramètre(s) inconnu(s) : {', '.join(unknown)} ; acceptés : datetime, categories"
        )
    if query.get("f", "mvt") != "mvt":
        raise InvalidInput("paramètre f : les tuiles n'existent qu'au format mvt")
    start, end = (
        parse_datetime(query["datetime"], settings.timezone)
        if "datetime" in query
        else (None, None)
    )
    categories = parse_categories(
        query.get("categories"), tuple(c.code for c in catalogue.categories)
    )
    check_public_categories(catalogue, categories, role)
    return replace(context_of(role, settings), start=start, end=end, categories=categories)


def get_tile(
    *,
    engine: Engine,
    cache: TileCache | SharedTileCache,
    version: int,
    catalogue: Catalogue,
    layer_id: str,
    z: int,
    x: int,
    y: int,
    query: Mapping[str, str],
    role: Role,
    settings: Settings,
) -> Tile:
    """A tile of ``layer_id`` (a collection id, or ``basemap``) as ``role`` may see it."""
    check_tile(z, x, y)
    context = tile_context(query, catalogue, role, settings)
    layer = None
    if layer_id != BASEMAP:  # access is checked before the cache is read, every time
        collection = find_collection(
            engine=engine, catalogue=catalogue, collection_id=layer_id, role=role
        )
        layer = layer_for(collection, catalogue, z)
        layer.collection.check_access(role)
    view = "public" if is_restricted(role) else "staff"
    # the streets come from the BAN, which the data version does not follow: its latest load
    # is part of the key, so a new BAN file shows at once
    streets = ""
    if layer is None and z >= STREETS_MIN_ZOOM:
        with engine.connect() as conn:
            stamp = latest_release_stamp(conn=conn)
        streets = stamp[1] if stamp else "no-ban"
    key = "|".join(
        str(part)
        for part in (
            layer_id,
            z,
            x,
            y,
            version,
            view,
            context.start,
            context.end,
            ",".join(context.categories or ()),
            context.public_until,  # a public tile changes with the day, it may not outlive it
            streets,
        )
    )
    etag = '"' + hashlib.blake2b(key.encode(), digest_size=12).hexdigest() + '"'
    cached = cache.lookup(key)
    if cached is not None:
        (data, packed), store = cached
        return Tile(data, packed, etag, f"HIT; store={store}")
    with reading(engine) as conn:
        if layer is None:
            sql, params = basemap_sql(z, x, y)
            raw = conn.execute(text(sql), params).scalar()
            data = bytes(raw) if raw else b""
        else:
            data = render_tile(
                conn=conn,
                layer=layer,
                context=context,
                z=z,
                x=x,
                y=y,
                max_points=settings.tile_max_points,
            )
    packed = _gzip(data)
    cache.put(key, (data, packed))
    return Tile(data, packed, etag)
