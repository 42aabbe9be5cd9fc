"""An in-memory LRU of encoded vector tiles (raw and gzipped), keyed by the data version."""

from __future__ import annotations

import threading
from collections import OrderedDict


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

    def put(self, key: str, tile: tuple[bytes, bytes | None]) -> None:
        """Keep a tile, evicting the least recently used beyond the size."""
        if self._entries == 0:
            return
        with self._lock:
            self._tiles[key] = tile
            self._tiles.move_to_end(key)
            while len(self._tiles) > self._entries:
                self._tiles.popitem(last=False)
