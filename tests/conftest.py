"""Shared fixtures: a throw-away PostGIS database, migrated once per test session.

The database is real (PostgreSQL 15 + PostGIS 3, started by ``scripts/setup.sh``); nothing is
mocked. Its URL is ``GEOTRANQUIL_TEST_DATABASE_URL`` (default: ``geotranquil_test`` on the
local server), never the demo database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, make_url, text

from geotranquil.config import Settings, shared_data_dir
from geotranquil.db import admin
from geotranquil.db.engine import make_engine, psycopg_dsn
from geotranquil.services.database import upgrade_database
from geotranquil.services.geography import build_cells, load_areas
from tests.browser import browser, playwright  # noqa: F401  (one Chromium for all browser tests)

REPO = Path(__file__).resolve().parents[1]
TEST_DATABASE_URL = os.environ.get(
    "GEOTRANQUIL_TEST_DATABASE_URL",
    "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/geotranquil_test",
)
SHARED_DATA = shared_data_dir() or REPO.parent / "shared" / "data"
OFFICIAL_DIR = SHARED_DATA / "marseille"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def sibling_database_url(database_url: str, suffix: str) -> str:
    """The URL of a throw-away database named after the test database (``<name>_<suffix>``):
    test runs on different test databases never drop each other's."""
    url = make_url(database_url)
    return url.set(database=f"{url.database}_{suffix}").render_as_string(hide_password=False)


def official_dir_or_skip() -> Path:
    """The official boundary files; outside CI a missing folder skips, in CI it fails."""
    if (OFFICIAL_DIR / "commune.geojson").is_file():
        return OFFICIAL_DIR
    if IN_CI:
        pytest.fail(f"official reference data missing in CI: {OFFICIAL_DIR}")
    pytest.skip(f"official reference data not found at {OFFICIAL_DIR}")


def make_test_settings(database_url: str, data_dir: Path) -> Settings:
    """The tests' settings on ``database_url``."""
    return Settings(
        database_url=database_url,
        reference_dir=OFFICIAL_DIR if OFFICIAL_DIR.is_dir() else None,
        data_dir=data_dir,
        ingest_chunk_rows=1000,
    )


def fresh_engine(settings: Settings) -> Engine:
    """A newly created and migrated database for ``settings`` (any earlier one dropped)."""
    admin.drop_database(settings.database_url)
    upgrade_database(settings)
    return make_engine(settings)


def load_reference(engine: Engine, settings: Settings) -> Engine:
    """The official areas (or built-in ones outside CI) and the grid, loaded into ``engine``."""
    load_areas(engine, official_dir_or_skip() if IN_CI else settings.reference_dir)
    build_cells(engine, [7, 8, 9, 10])
    return engine


def database_tier(suffix: str) -> tuple[Any, Any, Any]:
    """The three session fixtures (``settings``, ``engine``, ``loaded_engine``) of a tier of
    tests with a database of its own, ``<test database>_<suffix>``; a ``conftest.py`` binds
    them: ``settings, engine, loaded_engine = database_tier("jobs")``.

    They are redefined per tier, not only ``settings``: pytest keeps one instance of a session
    fixture per definition, so an ``engine`` defined here would be shared with the served tier
    whatever ``settings`` it was built from.
    """
    url = sibling_database_url(TEST_DATABASE_URL, suffix)

    @pytest.fixture(scope="session", name="settings")
    def tier_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
        return make_test_settings(url, tmp_path_factory.mktemp(f"data-{suffix}"))

    @pytest.fixture(scope="session", name="engine")
    def tier_engine(settings: Settings) -> Iterator[Engine]:
        eng = fresh_engine(settings)
        yield eng
        eng.dispose()

    @pytest.fixture(scope="session", name="loaded_engine")
    def tier_loaded_engine(engine: Engine, settings: Settings) -> Engine:
        return load_reference(engine, settings)

    return tier_settings, tier_engine, tier_loaded_engine


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The settings of the served tier (API, web pages, Open311, sign-in): one database whose
    served data no test empties; the integration tests, which do, have their own
    (``tests/integration/conftest.py``)."""
    return make_test_settings(TEST_DATABASE_URL, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    eng = fresh_engine(settings)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def loaded_engine(engine: Engine, settings: Settings) -> Engine:
    """The test database with the official areas (or built-in ones outside CI) and the grid."""
    return load_reference(engine, settings)


@pytest.fixture
def dsn(settings: Settings) -> str:
    return psycopg_dsn(settings.database_url)


@pytest.fixture
def clean_events(loaded_engine: Engine) -> Engine:
    """Empty events, sources, batches and rejections before the test, and what referenced
    the events (geocoding rows, residents' reports: triggers, not foreign keys, keep those
    references since ``events`` is partitioned, so a TRUNCATE no longer cascades to them)."""
    with loaded_engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE events, event_geocoding, service_requests, "
                "ingest_rejections, ingest_batches, sources "
                "RESTART IDENTITY CASCADE"
            )
        )
    return loaded_engine


@pytest.fixture(scope="module")
def ban(
    loaded_engine: Engine, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> pd.DataFrame:
    """A synthetic Base Adresse Nationale of the test geography, loaded for real (the module's
    tests geocode against it); any earlier release is removed first."""
    from geotranquil.geocode.ban import write_ban_csv
    from geotranquil.geography.reference import load_geography
    from geotranquil.services.addresses import load_ban
    from geotranquil.synth.ban import ban_frame
    from geotranquil.synth.streets import street_network

    frame = ban_frame(street_network(load_geography(settings.reference_dir), seed=8))
    with loaded_engine.begin() as conn:
        conn.execute(text("TRUNCATE ban_addresses, ban_releases RESTART IDENTITY CASCADE"))
    load_ban(settings, write_ban_csv(frame, tmp_path_factory.mktemp("ban") / "ban.csv"))
    return frame
