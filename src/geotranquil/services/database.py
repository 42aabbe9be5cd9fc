"""Prepare the database: create it, migrate it, synchronise the taxonomy, keep the coming
months' partitions of the events ready."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.db import admin
from geotranquil.db.categories import sync_categories
from geotranquil.db.day_counts import compact_day_counts
from geotranquil.db.engine import make_direct_engine
from geotranquil.db.maintenance import analyze_tables, warm_connections
from geotranquil.db.partitions import add_months, ensure_event_partitions, month_of
from geotranquil.taxonomy import load_taxonomy


@dataclass(frozen=True)
class UpgradeResult:
    created: bool
    revision: str | None
    categories_changed: int


def upgrade_database(settings: Settings, engine: Engine | None = None) -> UpgradeResult:
    """Create the database if needed, migrate to the latest revision, sync the categories and
    make the partitions of the events for this month and the coming ones.

    On the direct connection (``settings.direct_url``): no pooler between the migrations and
    the database."""
    created = admin.ensure_database(settings.direct_url)
    engine = engine or make_direct_engine(settings)
    with engine.begin() as conn:
        admin.upgrade(conn)
        changed = sync_categories(conn=conn, categories=load_taxonomy())
        revision = admin.current_revision(conn)
    prepare_event_partitions(engine, settings.event_partitions_ahead_months)
    if changed:
        with engine.begin() as conn:
            analyze_tables(conn=conn, tables=("categories",))
    return UpgradeResult(created=created, revision=revision, categories_changed=changed)


def warm_pool(engine: Engine, count: int) -> int:
    """Open and warm ``count`` pooled connections (:func:`~geotranquil.db.maintenance.
    warm_connections`) so that a server's first requests do not pay for them."""
    return warm_connections(engine, count)


def prepare_event_partitions(
    engine: Engine, ahead_months: int, today: date | None = None
) -> list[str]:
    """Create the partitions of ``events`` for the current UTC month (of ``today``) and the
    ``ahead_months`` after it, those missing; the names created."""
    this_month = month_of(today or datetime.now(UTC))
    with engine.begin() as conn:
        return ensure_event_partitions(
            conn=conn, first=this_month, last=add_months(this_month, ahead_months)
        )


def compact_event_day_counts(engine: Engine) -> tuple[int, int]:
    """Merge the delta rows of the events' daily counts into one row per key (run daily by the
    ``event_partitions`` job); (rows before, rows after)."""
    with engine.begin() as conn:
        return compact_day_counts(conn=conn)
