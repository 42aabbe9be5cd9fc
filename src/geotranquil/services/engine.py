"""The database engine, for callers above the services (the command line)."""

from __future__ import annotations

from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.db.engine import make_engine, psycopg_dsn


def open_engine(settings: Settings) -> Engine:
    """The pooled engine of ``settings.database_url`` (the CLI never imports ``db``)."""
    return make_engine(settings)


def libpq_dsn(settings: Settings) -> str:
    """``settings.database_url`` as a libpq connection string (for the job queue's driver)."""
    return psycopg_dsn(settings.database_url)
