"""The database engine, for callers above the services (the command line)."""

from __future__ import annotations

from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.db.engine import make_engine


def open_engine(settings: Settings) -> Engine:
    """The pooled engine of ``settings.database_url`` (the CLI never imports ``db``)."""
    return make_engine(settings)
