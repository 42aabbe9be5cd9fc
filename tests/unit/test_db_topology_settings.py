"""The database topology's settings: PgBouncer detected by its port or said, the direct URL
required behind it, one engine per URL."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from geotranquil.config import Settings
from geotranquil.db.engine import (
    forget_engine,
    make_direct_engine,
    make_engine,
    make_read_engine,
)

PRIMARY = "postgresql+psycopg://postgres@127.0.0.1:5432/topology_unit"
POOLED = "postgresql+psycopg://postgres@127.0.0.1:6432/topology_unit"
REPLICA = "postgresql+psycopg://postgres@127.0.0.1:5433/topology_unit"


def test_pgbouncer_needs_a_direct_url() -> None:
    with pytest.raises(ValidationError, match="direct_database_url"):
        Settings(database_url=POOLED)
    s = Settings(database_url=POOLED, direct_database_url=PRIMARY)
    assert (s.through_pooler, s.direct_url) == (True, PRIMARY)
    # said rather than guessed from the port
    assert not Settings(database_url=POOLED, db_pooler="none").through_pooler
    with pytest.raises(ValidationError):
        Settings(database_url=PRIMARY, db_pooler="pgbouncer")


def test_without_a_pooler_or_replica_one_engine_serves_all() -> None:
    s = Settings(database_url=PRIMARY)
    assert (s.through_pooler, s.direct_url, s.read_database_url) == (False, PRIMARY, None)
    assert make_engine(s) is make_direct_engine(s) is make_read_engine(s)
    forget_engine(PRIMARY)


def test_each_url_gets_its_own_engine() -> None:
    # what the connections of each carry is checked on live ones (tests/scale_infra)
    s = Settings(database_url=POOLED, direct_database_url=PRIMARY, read_database_url=REPLICA)
    pooled, direct, read = make_engine(s), make_direct_engine(s), make_read_engine(s)
    assert [e.url.port for e in (pooled, direct, read)] == [6432, 5432, 5433]
    assert make_engine(s.model_copy()) is pooled
    for url in (POOLED, PRIMARY, REPLICA):
        forget_engine(url)
