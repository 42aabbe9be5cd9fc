"""Through PgBouncer in transaction mode: repeated statements (no server-side prepared
statement to go missing), statements planned for their values, an ingest and a pushed batch,
and no advisory lock left behind on a server connection that another client gets next."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.db.engine import make_direct_engine, psycopg_dsn
from geotranquil.db.keys import create_key
from geotranquil.ingest.mapping import packaged_mappings
from geotranquil.ingest.pipeline import upsert_source
from geotranquil.jobs import run_worker
from geotranquil.services.ingestion import ingest, known_categories
from tests.live_server import live_server

from .conftest import POOLED_URL, PRIMARY_URL, reports_file

#: a statement psycopg would prepare on its sixth run (``prepare_threshold`` 5 by default)
COUNT_CATEGORY = "SELECT count(*) FROM categories WHERE code = :c"


def _advisory_locks(settings: Settings) -> int:
    """Advisory locks held now in the tier's database, by any session."""
    with make_direct_engine(settings).connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            ).scalar_one()
        )


def test_the_engine_goes_through_pgbouncer_without_prepared_statements(
    engine: Engine, settings: Settings
) -> None:
    assert settings.through_pooler and engine.url.port == 6432
    with engine.connect() as conn:
        assert conn.connection.driver_connection.prepare_threshold is None  # type: ignore[union-attr]
        # PgBouncer answers its own SHOW commands only on its admin database: a server's port
        # is PostgreSQL's, behind it
        assert conn.execute(text("SELECT inet_server_port()")).scalar_one() == 5432


def test_a_statement_run_ten_times_from_two_threads_works_and_nothing_is_prepared(
    engine: Engine,
) -> None:
    errors: list[BaseException] = []
    counts: list[int] = []

    def run() -> None:
        try:
            with engine.connect() as conn:
                for _ in range(10):
                    counts.append(conn.execute(text(COUNT_CATEGORY), {"c": "vol"}).scalar_one())
                    conn.commit()  # each run in a transaction of its own: maybe another server
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert counts == [1] * 20
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar() == 0


def test_plan_cache_mode_is_force_custom_plan_through_pgbouncer_and_directly(
    engine: Engine, settings: Settings
) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("SHOW plan_cache_mode")).scalar_one() == "force_custom_plan"
    # a bare libpq connection through PgBouncer, no options at all: the database's setting
    with psycopg.connect(psycopg_dsn(POOLED_URL), prepare_threshold=None) as raw:
        row = raw.execute("SHOW plan_cache_mode").fetchone()
        assert row is not None and row[0] == "force_custom_plan"
    with make_direct_engine(settings).connect() as conn:
        assert conn.execute(text("SHOW plan_cache_mode")).scalar_one() == "force_custom_plan"
        assert conn.execute(text("SELECT inet_server_port()")).scalar_one() == 5432


def test_transaction_locks_through_pgbouncer_do_not_outlive_their_transaction(
    engine: Engine, settings: Settings
) -> None:
    key = 0x7465_7374  # "test"
    assert _advisory_locks(settings) == 0
    with engine.connect() as a, engine.connect() as b:
        assert a.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar()
        # B, on another server connection, waits for A's transaction
        assert not b.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar()
        b.commit()
        a.commit()  # A's server connection goes back to PgBouncer's pool with no lock
        assert b.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar()
        b.commit()
    assert _advisory_locks(settings) == 0


def test_a_file_ingested_with_settings_through_pgbouncer(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    mapping = packaged_mappings(known_categories(settings))["habitants"]
    path = reports_file(tmp_path / "habitants.json", "PGB", 40)
    summary = ingest(settings, path, mapping)
    assert (summary.status, summary.inserted, summary.rejected) == ("completed", 40, 1)
    again = ingest(settings, path, mapping)  # the same file: nothing to do
    assert again.status == "skipped"
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM events WHERE external_id LIKE 'PGB-%'")
            ).scalar_one()
            == 40
        )
    assert _advisory_locks(settings) == 0  # the file's session lock went with its session


def test_a_batch_pushed_and_run_by_the_worker_through_pgbouncer(
    engine: Engine, settings: Settings
) -> None:
    with psycopg.connect(psycopg_dsn(PRIMARY_URL)) as raw:  # the partner's source
        upsert_source(raw, packaged_mappings()["police_municipale"])
    with engine.begin() as conn:
        source = conn.execute(
            text("SELECT id FROM sources WHERE slug = 'police_municipale'")
        ).scalar_one()
        key, _ = create_key(conn=conn, name="pgbouncer partner", role="partner", source_id=source)
    events = [
        {
            "id": f"PUSH-{i}",
            "occurred_at": "2026-10-02T22:14:00+02:00",
            "category": "vol",
            "lon": 5.3811,
            "lat": 43.2965,
        }
        for i in range(12)
    ]
    with (
        live_server(settings) as url,
        httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as http,
    ):
        r = http.post("/sources/police_municipale/batches", json=events)
        assert r.status_code == 202, r.text
        run_worker(settings, wait=False)  # the worker's queue on the direct URL (LISTEN)
        batch = http.get(r.headers["Location"]).json()
    assert batch["state"] == "done", batch
    assert (batch["counts"]["inserted"], batch["counts"]["rejected"]) == (12, 0)
    assert _advisory_locks(settings) == 0
