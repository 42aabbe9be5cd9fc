"""Prepare the database: create it, migrate it, synchronise the taxonomy."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.db import admin
from geotranquil.db.categories import sync_categories
from geotranquil.db.engine import make_direct_engine
from geotranquil.db.maintenance import analyze_tables, warm_connections
from geotranquil.taxonomy import load_taxonomy


@dataclass(frozen=True)
class UpgradeResult:
    created: bool
    revision: str | None
    categories_changed: int


def upgrade_database(settings: Settings, engine: Engine | None = None) -> UpgradeResult:
    """Create the database if needed, migrate to the latest revision, sync the categories.

    On the direct connection (``settings.direct_url``): no pooler between the migrations and
    the database."""
    created = admin.ensure_database(settings.direct_url)
    engine = engine or make_direct_engine(settings)
    with engine.begin() as conn:
        admin.upgrade(conn)
        changed = sync_categories(conn=conn, categories=load_taxonomy())
        revision = admin.current_revision(conn)
    if changed:
        with engine.begin() as conn:
            analyze_tables(conn=conn, tables=("categories",))
    return UpgradeResult(created=created, revision=revision, categories_changed=changed)


def warm_pool(engine: Engine, count: int) -> int:
    """Open and warm ``count`` pooled connections (:func:`~geotranquil.db.maintenance.
    warm_connections`) so that a server's first requests do not pay for them."""
    return warm_connections(engine, count)
