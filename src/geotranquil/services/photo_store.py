"""Residents' photos as files: written durably before their row, read and removed by name.

A 1 MB photo in PostgreSQL is about 2 MB of WAL (the value, then full pages after each
checkpoint): at 50 reports a second, 100 MB/s of WAL, a checkpoint every 10 s, and reports
stalled behind it (``benchmarks/open311_load.py``). A photo is now a file under
:func:`photo_dir`; its ``service_request_media`` row names it (``file``). The file is written
and fsynced before the row that names it is committed, so a committed row
never names a missing file; a file whose row never committed is an orphan, removed by
:meth:`PhotoStore.sweep` (the retention purge) once older than an hour.

Names are random (``ab/abcdef….jpg``), never derived from the content or the report, so a
name says nothing about the photo.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from geotranquil.config import Settings

SUFFIX = ".jpg"
_NAME = re.compile(r"[0-9a-f]{2}/[0-9a-f]{32}\.jpg")


def photo_dir(settings: Settings) -> Path:
    """Where residents' photos are kept (``GEOTRANQUIL_OPEN311_PHOTO_DIR``, else
    ``<data_dir>/photos``)."""
    return settings.open311_photo_dir or settings.data_dir / "photos"


class PhotoStore:
    """Photos under ``root``, by name.

    Examples
    --------
    >>> import tempfile
    >>> store = PhotoStore(Path(tempfile.mkdtemp()))
    >>> name = store.save(b"\\xff\\xd8 a photo \\xff\\xd9")
    >>> store.read(name)[:3], store.remove([name, "00/" + "0" * 32 + ".jpg"])
    (b'\\xff\\xd8 ', 1)
    >>> store.read("../../etc/passwd")
    Traceback (most recent call last):
    ...
    ValueError: not a photo name: '../../etc/passwd'

    """

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def of(cls, settings: Settings) -> PhotoStore:
        """The store of the settings' photo folder (:func:`photo_dir`)."""
        return cls(photo_dir(settings))

    def _path(self, name: str) -> Path:
        if not _NAME.fullmatch(name):  # never a path the caller chose
            raise ValueError(f"not a photo name: {name!r}")
        return self.root / name

    def save(self, content: bytes) -> str:
        """Write a new photo and fsync it; its name.

        Written under its final name (never reused: ``O_EXCL``) and fsynced, no rename and no
        fsync of the folder: on a journalling file system (ext4, XFS) the fsync of a new file
        commits its directory entry with it, and the two extra steps cost about 4 ms of CPU a
        photo. A file cut short by a crash has no row naming it (the row is written after the
        fsync): :meth:`sweep` removes it.
        """
        token = secrets.token_hex(16)
        name = f"{token[:2]}/{token}{SUFFIX}"
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        return name

    def read(self, name: str) -> bytes:
        return self._path(name).read_bytes()

    def remove(self, names: Iterable[str]) -> int:
        """Delete photos; how many existed."""
        removed = 0
        for name in names:
            try:
                self._path(name).unlink()
                removed += 1
            except FileNotFoundError:
                pass
        return removed

    def sweep(self, referenced: Callable[[list[str]], set[str]], older_than_s: float) -> int:
        """Delete the photos no row names (``referenced`` tells which of a list are named)
        that are older than ``older_than_s`` seconds (unfinished writes among them); how
        many."""
        if not self.root.is_dir():
            return 0
        limit = time.time() - older_than_s
        old = [p for p in self.root.glob("*/*") if p.suffix == SUFFIX and p.stat().st_mtime < limit]
        names = [f"{p.parent.name}/{p.name}" for p in old]
        named = referenced(names) if names else set()
        gone = [p for p in old if f"{p.parent.name}/{p.name}" not in named]
        for p in gone:
            p.unlink(missing_ok=True)
        return len(gone)
