"""One shared, pooled engine per database URL; dropping a database forgets its engine."""

from __future__ import annotations

from sqlalchemy import text

from geotranquil.config import Settings
from geotranquil.db import admin
from geotranquil.db.engine import make_engine
from tests.conftest import sibling_database_url


def test_one_engine_per_url_and_a_fresh_one_after_a_drop(settings: Settings) -> None:
    url = sibling_database_url(settings.database_url, "engine")
    other = Settings(database_url=url)
    admin.drop_database(url)
    try:
        admin.ensure_database(url)
        first = make_engine(other)
        assert make_engine(Settings(database_url=url)) is first
        assert make_engine(settings) is not first
        with first.connect() as conn:
            assert (
                conn.execute(text("SELECT current_database()")).scalar_one()
                == url.rsplit("/", 1)[1]
            )
        assert first.pool.checkedin() == 1  # the connection went back to the shared pool

        admin.drop_database(url)  # its pooled connection is closed first, then forgotten
        admin.ensure_database(url)
        second = make_engine(other)
        assert second is not first
        with second.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        admin.drop_database(url)
