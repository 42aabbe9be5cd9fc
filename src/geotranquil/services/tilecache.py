"""Caches of encoded vector tiles (raw and gzipped), keyed by the data version.

:class:`TileCache` is a per-process LRU; :class:`SharedTileCache` puts Redis behind it, so a
tile rendered by one worker is a hit on every other. Keys include the data version, so
neither can serve a tile of older data. ``lookup`` also says where a hit came from
(``process`` or ``redis``), which the tile routes expose as ``X-Cache``.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections import OrderedDict

from geotranquil.services.shared_state import SharedState, SharedStateDown

Cached = tuple[bytes, bytes | None]


class TileCache:
    """Tiles by key; the key includes the data version, so a change of data misses the cache."""

    def __init__(self, entries: int) -> None:
        self._entries = entries
        self._tiles: OrderedDict[str, tuple[bytes, bytes | None]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> tuple[bytes, bytes | None] | None:
        """The cached tile, or None."""
        if self._entries == 0:
            return None
        with self._lock:
            tile = self._tiles.get(key)
            if tile is None:
                self.misses += 1
                return None
            self._tiles.move_to_end(key)
            self.hits += 1
            return tile

    def lookup(self, key: str) -> tuple[Cached, str] | None:
        """The cached tile and where it was found (``process``), or None."""
        tile = self.get(key)
        return None if tile is None else (tile, "process")

    def put(self, key: str, tile: tuple[bytes, bytes | None]) -> None:
        """Keep a tile, evicting the least recently used beyond the size."""
        if self._entries == 0:
            return
        with self._lock:
            self._tiles[key] = tile
            self._tiles.move_to_end(key)
            while len(self._tiles) > self._entries:
                self._tiles.popitem(last=False)


def pack_tile(tile: Cached) -> bytes:
    """One Redis value for a tile: a flag, the raw length, the raw bytes, the gzipped bytes.

    Examples
    --------
    >>> unpack_tile(pack_tile((b"abc", None))), unpack_tile(pack_tile((b"abc", b"z")))
    ((b'abc', None), (b'abc', b'z'))
    """
    data, gzipped = tile
    flag = b"\x00" if gzipped is None else b"\x01"
    return flag + struct.pack(">I", len(data)) + data + (gzipped or b"")


def unpack_tile(value: bytes) -> Cached:
    """The tile of :func:`pack_tile`."""
    (size,) = struct.unpack(">I", value[1:5])
    data = value[5 : 5 + size]
    return data, (value[5 + size :] if value[:1] == b"\x01" else None)


class SharedTileCache:
    """The process LRU first, then Redis (``ttl_s`` seconds per tile; 0 disables Redis)."""

    def __init__(self, local: TileCache, shared: SharedState, ttl_s: int) -> None:
        self.local = local
        self._shared = shared
        self._ttl_s = ttl_s

    def _key(self, key: str) -> str:
        return self._shared.key("tile", hashlib.blake2b(key.encode(), digest_size=16).hexdigest())

    def get(self, key: str) -> Cached | None:
        """The cached tile, or None."""
        found = self.lookup(key)
        return None if found is None else found[0]

    def lookup(self, key: str) -> tuple[Cached, str] | None:
        """The cached tile and where it was found (``process`` or ``redis``), or None."""
        found = self.local.lookup(key)
        if found is not None or self._ttl_s == 0:
            return found
        try:
            redis_key = self._key(key)
            value = self._shared.call(lambda r: r.get(redis_key))
        except SharedStateDown:
            return None
        if not isinstance(value, bytes):
            return None
        tile = unpack_tile(value)
        self.local.put(key, tile)
        return tile, "redis"

    def put(self, key: str, tile: Cached) -> None:
        """Keep a tile in this process and in Redis."""
        self.local.put(key, tile)
        if self._ttl_s == 0:
            return
        try:
            redis_key = self._key(key)
            self._shared.call(lambda r: r.set(redis_key, pack_tile(tile), ex=self._ttl_s))
        except SharedStateDown:
            pass
