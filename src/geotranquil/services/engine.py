"""The database engine, for callers above the services (the command line)."""

from __future__ import annotations

from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.db.engine import make_direct_engine, make_engine, psycopg_dsn


def open_engine(settings: Settings) -> Engine:
    """The pooled engine of ``settings.database_url`` (the CLI never imports ``db``)."""
    return make_engine(settings)


def open_direct_engine(settings: Settings) -> Engine:
    """The engine of ``settings.direct_url`` (no pooler: a session of its own)."""
    return make_direct_engine(settings)


def libpq_dsn(settings: Settings) -> str:
    """``settings.direct_url`` as a libpq connection string, for the job queue's driver: its
    LISTEN needs a session of its own, which PgBouncer in transaction mode does not give."""
    return psycopg_dsn(settings.direct_url)
