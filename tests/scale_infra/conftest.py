"""PgBouncer and the streaming read replica, for real: the primary (5432), PgBouncer in
transaction mode (6432) and the replica (5433) that ``scripts/setup.sh`` starts, and a
database of this tier's own (``<test database>_infra``) reached through each of them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, make_url, text

from geotranquil.config import Settings
from geotranquil.db import admin
from geotranquil.db.engine import forget_engine, make_engine, make_read_engine, psycopg_dsn
from geotranquil.services.database import upgrade_database
from tests.conftest import (
    IN_CI,
    TEST_DATABASE_URL,
    load_reference,
    make_test_settings,
    sibling_database_url,
)
from tests.workers import wait_for

#: the tier's database on the primary, directly
PRIMARY_URL = sibling_database_url(TEST_DATABASE_URL, "infra")
#: PgBouncer's and the replica's ports (scripts/pg_topology.sh)
PGBOUNCER_PORT = 6432
REPLICA_PORT = 5433


def on_port(url: str, port: int) -> str:
    """``url`` with another port (same host, user, database)."""
    return make_url(url).set(port=port).render_as_string(hide_password=False)


POOLED_URL = on_port(PRIMARY_URL, PGBOUNCER_PORT)
REPLICA_URL = on_port(PRIMARY_URL, REPLICA_PORT)


def _answers(url: str) -> str | None:
    """None when a server answers at ``url``'s host and port, else why not."""
    dsn = psycopg_dsn(make_url(url).set(database="postgres").render_as_string(False))
    try:
        with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def topology() -> None:
    """PgBouncer and the replica answer (``scripts/setup.sh`` starts them); in CI a missing
    one fails, elsewhere it skips with the reason."""
    for name, url in (("PgBouncer", POOLED_URL), ("the read replica", REPLICA_URL)):
        why = _answers(url)
        if why is not None:
            message = f"{name} does not answer at {make_url(url).port} ({why}): run setup.sh"
            if IN_CI:
                pytest.fail(message)
            pytest.skip(message)


@pytest.fixture(scope="session")
def settings(topology: None, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The platform as deployed: everything through PgBouncer, sessions directly on the
    primary, the read-only API on the replica."""
    base = make_test_settings(PRIMARY_URL, tmp_path_factory.mktemp("data-infra"))
    return base.model_copy(
        update={
            "database_url": POOLED_URL,
            "direct_database_url": PRIMARY_URL,
            "read_database_url": REPLICA_URL,
        }
    )


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    """The tier's database, created and migrated anew, areas and grid loaded through
    PgBouncer; the engine is PgBouncer's."""
    for url in (POOLED_URL, REPLICA_URL):
        forget_engine(url)
    admin.drop_database(PRIMARY_URL)
    upgrade_database(settings)
    eng = make_engine(settings)
    load_reference(eng, settings)
    yield eng
    for url in (POOLED_URL, PRIMARY_URL, REPLICA_URL):
        forget_engine(url)


@pytest.fixture(scope="session")
def replica(settings: Settings, engine: Engine) -> Engine:
    """The replica's engine, once it has replayed the tier's database."""
    wait_replayed(engine, make_read_engine(settings))
    return make_read_engine(settings)


def current_lsn(engine: Engine) -> str:
    """The primary's WAL position now."""
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one())


def wait_replayed(primary: Engine, replica: Engine, lsn: str | None = None) -> str:
    """Wait until the replica has replayed the primary's WAL up to ``lsn`` (default: now)."""
    target = lsn or current_lsn(primary)

    def replayed() -> bool:
        try:
            with replica.connect() as conn:
                return bool(
                    conn.execute(
                        text("SELECT pg_last_wal_replay_lsn() >= CAST(:p AS pg_lsn)"),
                        {"p": target},
                    ).scalar()
                )
        except Exception:  # the database is being created on the replica: not yet
            replica.dispose()
            return False

    wait_for(replayed, f"the replica to replay up to {target}", timeout=120)
    return target


def reports_file(path: Path, prefix: str, count: int, day: str = "2026-10-01") -> Path:
    """``count`` residents' reports (the ``habitants`` mapping) in central Marseille, and one
    without a date (rejected)."""
    natives = ["bruit", "dechets", "tag", "eclairage"]
    rows: list[dict[str, Any]] = [
        {
            "report_id": f"{prefix}-{i:04d}",
            "created": f"{day}T1{i % 10}:00:00+02:00",
            "category": natives[i % len(natives)],
            "location": {"lon": 5.3811 + 0.0001 * (i % 7), "lat": 43.2965},
            "description": "test",
        }
        for i in range(count)
    ]
    rows.append({"report_id": f"{prefix}-bad", "created": "", "category": "bruit", "location": {}})
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path
