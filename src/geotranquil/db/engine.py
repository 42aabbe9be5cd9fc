"""Engine construction: one pooled engine per process, built from the settings."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, make_url

from geotranquil.config import Settings


def make_engine(settings: Settings) -> Engine:
    """Create the SQLAlchemy engine (psycopg 3, pooled) for ``settings.database_url``.

    Statements are planned for their values every time (``plan_cache_mode``): psycopg
    prepares repeated statements, and a generic plan of a tile or page statement can be a
    hundred times slower than the plan for the actual box and period.
    """
    return create_engine(
        settings.database_url,
        pool_pre_ping=True,
        future=True,
        connect_args={"options": "-c plan_cache_mode=force_custom_plan"},
    )


def psycopg_dsn(database_url: str) -> str:
    """Translate a SQLAlchemy URL into a libpq connection string for raw psycopg use.

    Examples
    --------
    >>> psycopg_dsn("postgresql+psycopg://postgres@127.0.0.1:5432/geotranquil")
    'postgresql://postgres@127.0.0.1:5432/geotranquil'
    """
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)
