"""The integration tests' own database.

These tests empty and refill tables (``clean_events``, BAN reloads, hot-spot runs, taxonomy
changes), so they run on a database of their own beside the served tier's
(``GEOTRANQUIL_TEST_DATABASE_URL`` followed by ``_integration``): whatever order the tests
run in, the data the API, web and Open311 tests serve is never emptied under them.

The three session fixtures are all redefined here, not only ``settings``: pytest keeps one
instance of a session fixture per definition, so an ``engine`` defined above would be shared
with the served tier whatever ``settings`` it was built from.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from geotranquil.config import Settings
from tests.conftest import (
    TEST_DATABASE_URL,
    fresh_engine,
    load_reference,
    make_test_settings,
    sibling_database_url,
)

INTEGRATION_DATABASE_URL = sibling_database_url(TEST_DATABASE_URL, "integration")


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_test_settings(INTEGRATION_DATABASE_URL, tmp_path_factory.mktemp("data-int"))


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    eng = fresh_engine(settings)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def loaded_engine(engine: Engine, settings: Settings) -> Engine:
    """The integration database with the reference areas and the grid."""
    return load_reference(engine, settings)
