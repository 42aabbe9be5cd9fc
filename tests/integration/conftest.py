"""The integration tests' own database.

These tests empty and refill tables (``clean_events``, BAN reloads, hot-spot runs, taxonomy
changes), so they run on a database of their own beside the served tier's
(``GEOTRANQUIL_TEST_DATABASE_URL`` followed by ``_integration``): whatever order the tests
run in, the data the API, web and Open311 tests serve is never emptied under them.
"""

from __future__ import annotations

from tests.conftest import database_tier

settings, engine, loaded_engine = database_tier("integration")
