"""Engine construction: one pooled engine per database URL and process, built from the settings."""

from __future__ import annotations

import os
import threading

from sqlalchemy import Connection, Engine, create_engine, make_url

from geotranquil.config import Settings

#: The engines built so far, by database URL, pool size and whether a pooler is in between.
_ENGINES: dict[tuple[str, int, int, bool], Engine] = {}
_LOCK = threading.Lock()

#: libpq options of a direct connection: plan every statement for its values
_DIRECT_OPTIONS = {"options": "-c plan_cache_mode=force_custom_plan"}


def make_engine(settings: Settings) -> Engine:
    """The SQLAlchemy engine (psycopg 3, pooled) for ``settings.database_url``.

    Built once per URL and process, then shared: every caller gets the same engine and its
    connection pool. ``engine.dispose()`` by a caller only empties the pool (the engine stays
    usable); a forked child starts with empty pools of its own.

    Statements are planned for their values every time (``plan_cache_mode``): psycopg
    prepares repeated statements, and a generic plan of a tile or page statement can be a
    hundred times slower than the plan for the actual box and period. Directly, libpq's
    ``options`` say so; through PgBouncer (``settings.through_pooler``), which cannot pass
    ``options`` on, the database's own setting does (migration 0025), and psycopg prepares
    nothing (``prepare_threshold=None``): in transaction mode the next statement may run on
    another server connection, where the prepared statement does not exist.

    No ping before each checkout (``pool_pre_ping``): it cost about 0.4 ms of wall time and
    0.17 ms of CPU per checkout, more than the data-version query a request makes with it
    (``benchmarks/serving_workers.py``). Connections are recycled after 30 minutes; after a
    database restart, the first statement on a dead connection fails (the API answers 503 with
    ``Retry-After``) and SQLAlchemy then replaces every connection of the pool.

    Examples
    --------
    >>> s = Settings(database_url="postgresql+psycopg://postgres@127.0.0.1:5432/doc_example")
    >>> make_engine(s) is make_engine(s.model_copy())
    True
    >>> make_direct_engine(s) is make_engine(s) is make_read_engine(s)
    True
    >>> forget_engine(s.database_url)
    """
    return _engine(settings, settings.database_url, pooled=settings.through_pooler)


def make_direct_engine(settings: Settings) -> Engine:
    """The engine of ``settings.direct_url``: a session of its own, no pooler in between.

    For what outlives a transaction: session advisory locks held across transactions,
    session temporary tables, LISTEN. The same engine as :func:`make_engine` when there is
    no pooler.
    """
    if settings.direct_url == settings.database_url and not settings.through_pooler:
        return make_engine(settings)
    return _engine(settings, settings.direct_url, pooled=False)


def make_read_engine(settings: Settings) -> Engine:
    """The engine of the read replica (``settings.read_database_url``), or else the primary's
    (:func:`make_engine`). Only for reads that need not see this process's own writes."""
    if settings.read_database_url is None:
        return make_engine(settings)
    return _engine(settings, settings.read_database_url, pooled=False)


def _engine(settings: Settings, url: str, *, pooled: bool) -> Engine:
    key = (url, settings.db_pool_size, settings.db_max_overflow, pooled)
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            connect_args: dict[str, object] = (
                {"prepare_threshold": None} if pooled else dict(_DIRECT_OPTIONS)
            )
            engine = _ENGINES[key] = create_engine(
                url,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_max_overflow,
                pool_recycle=1800,
                future=True,
                connect_args=connect_args,
            )
        return engine


def reading(engine: Engine) -> Connection:
    """A connection for reads only, in autocommit: each statement is its own transaction, so
    no BEGIN before it nor ROLLBACK after (two round trips fewer per request on the serving
    path). Use it as ``with reading(engine) as conn:``; never for writes that belong together.
    """
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def forget_engine(database_url: str) -> None:
    """Close and forget the shared engine of a URL (its database is about to be dropped)."""
    with _LOCK:
        engines = [_ENGINES.pop(k) for k in [k for k in _ENGINES if k[0] == database_url]]
    for engine in engines:
        engine.dispose()


def _after_fork_in_child() -> None:
    # the parent's pooled connections must not be used by the child (SQLAlchemy's advice)
    for engine in _ENGINES.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_after_fork_in_child)


def psycopg_dsn(database_url: str) -> str:
    """Translate a SQLAlchemy URL into a libpq connection string for raw psycopg use.

    Examples
    --------
    >>> psycopg_dsn("postgresql+psycopg://postgres@127.0.0.1:5432/geotranquil")
    'postgresql://postgres@127.0.0.1:5432/geotranquil'
    """
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)
