"""Migrations build the schema of the models, exactly, and can be re-run and rolled back."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from geotranquil.config import Settings
from geotranquil.db import admin
from geotranquil.db.engine import make_engine
from geotranquil.db.jobs import include_object
from geotranquil.db.models import Base
from geotranquil.ingest.mapping import packaged_mappings
from geotranquil.ingest.pipeline import ingest_file
from geotranquil.services.database import upgrade_database
from geotranquil.taxonomy import load_taxonomy
from tests.conftest import sibling_database_url

REPO_ROOT = Path(__file__).resolve().parents[2]


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "include_object": include_object,
                "compare_type": True,
            },
        )
        return list(compare_metadata(ctx, Base.metadata))


def test_models_and_migrations_do_not_drift(engine: Engine) -> None:
    assert _diff(engine) == []


def test_tables_and_indexes_exist(engine: Engine) -> None:
    insp = inspect(engine)
    tables = set(insp.get_table_names())
    assert {
        "categories",
        "sources",
        "events",
        "ingest_batches",
        "ingest_rejections",
        "areas",
        "grid_cells",
    } <= tables
    event_indexes = {ix["name"] for ix in insp.get_indexes("events")}
    assert {
        "ix_events_geom",
        "ix_events_occurred_at",
        "ix_events_category_occurred_at",
        "ix_events_h3_r9_occurred_at",
        "ix_events_h3_r10_occurred_at",
    } <= event_indexes
    with engine.connect() as conn:
        gist = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_events_geom'")
        ).scalar_one()
        exts = set(conn.execute(text("SELECT extname FROM pg_extension")).scalars())
    assert "USING gist" in gist
    assert {"postgis", "pg_trgm"} <= exts


def test_upgrade_is_idempotent_and_taxonomy_synced(settings: Settings, engine: Engine) -> None:
    again = upgrade_database(settings, engine)
    assert again.created is False
    # the head is the highest-numbered file of migrations/versions (one line of revisions)
    newest = max(p.name[:4] for p in (REPO_ROOT / "migrations" / "versions").glob("0*.py"))
    assert again.revision == newest == admin.head_revision()
    assert again.categories_changed == 0
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT code, label, family, public FROM categories ORDER BY sort_order")
        ).fetchall()
    assert len(rows) == 12
    assert rows[0] == (
        "degradation_bien_public",
        "Dégradation de biens publics",
        "atteintes_biens",
        True,
    )
    assert ("rixe_violence", "Rixes et violences sur la voie publique", "violences", False) in rows
    assert {r[0] for r in rows} == {
        "degradation_bien_public",
        "tag_graffiti",
        "depot_sauvage",
        "nuisance_sonore",
        "rixe_violence",
        "vol",
        "trafic_stupefiants",
        "occupation_illicite",
        "rodeo_urbain",
        "eclairage_defaillant",
        "voirie_degradee",
        "stationnement_genant",
    }


def test_downgrade_then_upgrade_round_trip(settings: Settings) -> None:
    url = sibling_database_url(settings.database_url, "roundtrip")
    other = Settings(database_url=url)
    admin.drop_database(url)
    try:
        upgrade_database(other)
        eng = make_engine(other)
        with eng.begin() as conn:
            admin.downgrade(conn, "base")
        left = inspect(eng).get_table_names()
        assert "events" not in left
        assert [t for t in left if t.startswith("procrastinate_")] == []
        with eng.connect() as conn:
            assert conn.execute(text("SELECT to_regproc('h3_parent')")).scalar() is None
            leftovers = conn.execute(
                text(
                    "SELECT count(*) FROM pg_proc WHERE starts_with(proname, 'procrastinate_') "
                    "UNION ALL SELECT count(*) FROM pg_type "
                    "WHERE starts_with(typname, 'procrastinate_')"
                )
            ).scalars()
            assert list(leftovers) == [0, 0]
        with eng.begin() as conn:
            admin.upgrade(conn)
        assert _diff(eng) == []
        eng.dispose()
    finally:
        admin.drop_database(url)


def test_a_batch_with_events_cannot_be_deleted(
    clean_events: Engine, dsn: str, tmp_path: Path
) -> None:
    """events.batch_id has no per-row FK (ingest speed); a trigger keeps the lineage valid."""
    mapping = packaged_mappings({c.code for c in load_taxonomy()})["habitants"]
    path = tmp_path / "one.json"
    path.write_text(
        '[{"report_id": 1, "created": "2025-03-02T22:14:05+01:00", "category": "bruit", '
        '"location": {"lat": 43.2951, "lon": 5.3745}}]',
        "utf-8",
    )
    summary = ingest_file(dsn, path, mapping)
    with pytest.raises(IntegrityError, match="still has events"), clean_events.begin() as conn:
        conn.execute(text("DELETE FROM ingest_batches WHERE id = :b"), {"b": summary.batch_id})
    with clean_events.begin() as conn:
        conn.execute(text("DELETE FROM events"))
        deleted = conn.execute(
            text("DELETE FROM ingest_batches WHERE id = :b"), {"b": summary.batch_id}
        ).rowcount
    assert deleted == 1


def test_photos_are_stored_out_of_line_without_compression(engine: Engine) -> None:
    """JPEGs do not compress: ``EXTERNAL`` storage spares PostgreSQL the failed attempt."""
    with engine.connect() as conn:
        storage = conn.execute(
            text(
                "SELECT attstorage FROM pg_attribute WHERE attname = 'content' "
                "AND attrelid = 'service_request_media'::regclass"
            )
        ).scalar_one()
    assert storage == "e"
