"""Partners push batches: a database of their own, a real server, keys bound to sources."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.db.engine import psycopg_dsn
from geotranquil.db.keys import create_key
from geotranquil.ingest.mapping import packaged_mappings
from geotranquil.ingest.pipeline import upsert_source
from geotranquil.services.push import spool_dir
from tests.conftest import (
    TEST_DATABASE_URL,
    fresh_engine,
    load_reference,
    make_test_settings,
    sibling_database_url,
)
from tests.live_server import live_server
from tests.workers import StartWorker, worker_env, worker_processes

PUSH_DATABASE_URL = sibling_database_url(TEST_DATABASE_URL, "push")
#: the packaged source partner A pushes to, and the one partner B pushes to
SOURCE_A = "police_municipale"
SOURCE_B = "services_espace_public"
#: the largest body the test server takes (small, to test the 413)
MAX_BYTES = 6_000_000


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    base = make_test_settings(PUSH_DATABASE_URL, tmp_path_factory.mktemp("data-push"))
    return base.model_copy(update={"push_max_bytes": MAX_BYTES})


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    eng = fresh_engine(settings)
    load_reference(eng, settings)
    mappings = packaged_mappings()
    with psycopg.connect(psycopg_dsn(settings.database_url)) as conn:
        for slug in (SOURCE_A, SOURCE_B):
            upsert_source(conn, mappings[slug])
    yield eng
    eng.dispose()


@dataclass(frozen=True)
class Keys:
    admin: str
    analyst: str
    partner_a: str
    partner_b: str


@pytest.fixture(scope="session")
def keys(engine: Engine) -> Keys:
    with engine.begin() as conn:
        ids = dict(conn.execute(text("SELECT slug, id FROM sources")).all())
        admin, _ = create_key(conn=conn, name="push admin", role="admin")
        analyst, _ = create_key(conn=conn, name="push analyst", role="analyst")
        a, _ = create_key(conn=conn, name="partner A", role="partner", source_id=ids[SOURCE_A])
        b, _ = create_key(conn=conn, name="partner B", role="partner", source_id=ids[SOURCE_B])
    return Keys(admin, analyst, a, b)


@pytest.fixture(scope="session")
def server(settings: Settings, engine: Engine) -> Iterator[str]:
    with live_server(settings) as url:
        yield url


@pytest.fixture
def clean(engine: Engine, settings: Settings) -> Engine:
    """No event, batch, spooled file or job left by an earlier test."""
    folder = spool_dir(settings)
    if folder.exists():
        for leftover in folder.iterdir():
            leftover.unlink()
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE events, event_geocoding, service_requests, "
                "ingest_rejections, ingest_batches, push_batches, "
                "procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, "
                "procrastinate_workers RESTART IDENTITY CASCADE"
            )
        )
    return engine


def push_worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a ``geotranquil worker`` on the push tests' database."""
    return worker_env(
        settings,
        **extra,
    )


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[StartWorker]:
    """Start ``geotranquil worker`` processes; any still running at the end is stopped."""
    with worker_processes(tmp_path) as start:
        yield start
