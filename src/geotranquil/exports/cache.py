"""Finished export files kept on disk by key, so that a client reading one by HTTP ranges (GDAL's
``/vsicurl/`` on a GeoParquet, FlatGeobuf or GeoPackage) does not run the export again for every
range.

The key says everything the file depends on (collection, checked request, what the caller's
role may see, data version, format), so a cached file is never stale: new data make a new key.
At most ``entries`` files are kept, the least recently used dropped first; files are written
beside the cache and moved in atomically, so several processes may share the directory.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from functools import lru_cache
from pathlib import Path


class ExportCache:
    """At most ``entries`` export files in ``directory``, by key (0 entries: nothing kept).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> cache = ExportCache(folder / "cache", entries=1)
    >>> key = ExportCache.key("events", "parquet", "v12")
    >>> cache.get(key) is None
    True
    >>> produced = folder / "out.parquet"
    >>> _ = produced.write_bytes(b"PAR1")
    >>> cache.put(key, produced).read_bytes()
    b'PAR1'
    >>> cache.get(key) is not None, produced.exists()
    (True, False)
    """

    def __init__(self, directory: Path, entries: int) -> None:
        self.directory = directory
        self.entries = entries
        self._lock = threading.Lock()

    @staticmethod
    def key(*parts: str) -> str:
        """A key (hex SHA-256) for what a file depends on."""
        digest = hashlib.sha256()
        for part in parts:
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\x1f")
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key

    def get(self, key: str) -> Path | None:
        """The cached file of ``key`` (marked as just used), or None."""
        if self.entries <= 0:
            return None
        path = self._path(key)
        try:
            os.utime(path)
        except OSError:
            return None
        return path

    def scratch(self, suffix: str) -> Path:
        """A fresh path to write an export to before :meth:`put` (inside the cache folder, so
        that the move is atomic; never evicted meanwhile). The file does not exist yet."""
        folder = self.directory if self.entries > 0 else Path(tempfile.gettempdir())
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(suffix=suffix, prefix=".part-", dir=folder)
        os.close(handle)
        path = Path(name)
        path.unlink()  # the writers create the file themselves
        return path

    def put(self, key: str, produced: Path) -> Path:
        """Move ``produced`` into the cache under ``key``; the path to serve it from.

        With a cache of 0 entries, ``produced`` itself is returned (the caller removes it).
        """
        if self.entries <= 0:
            return produced
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(key)
        os.replace(produced, path)
        self._evict(keep=path)
        return path

    def _evict(self, keep: Path) -> None:
        with self._lock:
            files = []
            for entry in self.directory.iterdir():
                if entry.name.startswith("."):  # being written
                    continue
                try:
                    files.append((entry.stat().st_mtime, entry))
                except OSError:  # removed by another process meanwhile
                    continue
            files.sort(reverse=True)
            for _, entry in files[self.entries :]:
                if entry != keep:
                    entry.unlink(missing_ok=True)


@lru_cache(maxsize=8)
def export_cache(directory: Path, entries: int) -> ExportCache:
    """The cache of ``directory`` in this process (one object per directory and size)."""
    return ExportCache(directory, entries)
