"""The collection catalogue, rebuilt when the data version changes."""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from geotranquil.db.engine import reading
from geotranquil.db.version import data_version
from geotranquil.features.catalogue import Catalogue, load_catalogue


class CatalogueCache:
    """Keeps the catalogue of the current data version (categories, runs may change)."""

    def __init__(self, engine: Engine, *, public_max_resolution: int) -> None:
        self._engine = engine
        self._public_max_resolution = public_max_resolution
        self._current: tuple[int, Catalogue] | None = None
        self._lock = threading.Lock()

    def get(self) -> tuple[int, Catalogue]:
        """``(data version, catalogue)``: one cheap query, a rebuild only after a change."""
        with reading(self._engine) as conn:
            version = data_version(conn=conn)
            current = self._current
            if current is not None and current[0] == version:
                return current
            catalogue = load_catalogue(conn=conn, public_max_resolution=self._public_max_resolution)
        with self._lock:
            self._current = (version, catalogue)
        return version, catalogue
