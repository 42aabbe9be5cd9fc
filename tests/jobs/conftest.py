"""The job queue's tests: a planted purge, an empty queue before each test, a worker process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.db.event_keys import add_missing_keys
from geotranquil.db.partitions import ensure_event_partitions
from tests.conftest import database_tier
from tests.workers import StartWorker, worker_env, worker_processes

#: the job tests plant and purge events: a database of their own, beside the served tier's
#: (whose tests count every event), as the integration tests have
settings, engine, loaded_engine = database_tier("jobs")


#: the day every purge of these tests runs for (local midnight 2026-06-14T22:00Z)
DAY = date(2026, 6, 15)
OLD, RECENT, REJECTED = 40, 10, 7  # events with an old address, with a recent one; old rejects

POLICY = """
[[rule]]
source = "*"
category = "*"
data = "address"
days = 30

[[rule]]
source = "*"
category = "*"
data = "rejected_raw"
days = 30

[[rule]]
source = "habitants"
category = "*"
data = "contact"
days = 3650

[[rule]]
source = "habitants"
category = "*"
data = "photo"
days = 3650
"""


@dataclass(frozen=True)
class Planted:
    """What the purge of :data:`DAY` must clear: ``OLD`` addresses and ``REJECTED`` raw rows."""

    policy: Path
    batch: int
    audit_after: int  # audit rows up to this id predate the test (the trail is append-only)


@pytest.fixture
def empty_queue(engine: Engine) -> Engine:
    """No job, no worker, no periodic defer left by an earlier test."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE procrastinate_events, procrastinate_periodic_defers, "
                "procrastinate_jobs, procrastinate_workers RESTART IDENTITY CASCADE"
            )
        )
    return engine


@pytest.fixture
def planted(empty_queue: Engine, tmp_path: Path) -> Planted:
    """Events and rejected rows on both sides of the policy's 30-day cut-off, nothing else."""
    policy = tmp_path / "retention.toml"
    policy.write_text(POLICY, "utf-8")
    with empty_queue.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE events, event_geocoding, service_requests, "
                "ingest_rejections, ingest_batches, sources "
                "RESTART IDENTITY CASCADE"
            )
        )
        source = conn.execute(
            text(
                "INSERT INTO sources (slug, name, kind) VALUES ('bailleur', 'B', 'file') "
                "RETURNING id"
            )
        ).scalar_one()
        ensure_event_partitions(conn=conn, first=date(2026, 1, 1), last=date(2026, 6, 30))
        for prefix, n, at in (
            ("old", OLD, "2026-01-10T10:00Z"),
            ("new", RECENT, "2026-06-10T10:00Z"),
        ):
            conn.execute(
                text(
                    "INSERT INTO events (source_id, external_id, category, occurred_at, "
                    "location_precision, address, attributes) SELECT :s, :p || g, 'vol', "
                    "CAST(:at AS timestamptz), 'address', g || ' rue de Rome', '{}' "
                    "FROM generate_series(1, :n) g"
                ),
                {"s": source, "p": prefix, "at": at, "n": n},
            )
        add_missing_keys(conn=conn)
        batch = conn.execute(
            text(
                "INSERT INTO ingest_batches (source_id, file_name, file_sha256, file_size, "
                "status, started_at, rejected) VALUES (:s, 'f.csv', 'x', 10, 'completed', "
                "'2026-01-10T10:00Z', :n) RETURNING id"
            ),
            {"s": source, "n": REJECTED},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO ingest_rejections (batch_id, row_number, reason, detail, raw) "
                "SELECT :b, g, 'invalid_date', 'date « x »', 'ligne ' || g "
                "FROM generate_series(1, :n) g"
            ),
            {"b": batch, "n": REJECTED},
        )
        last = conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one()
    return Planted(policy, int(batch), int(last))


def cleared(engine: Engine, planted: Planted) -> dict[str, object]:
    """Addresses and raw rows cleared so far; the purges recorded in the audit trail since
    ``planted`` (who, rows)."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM events WHERE address IS NULL "
                "AND external_id LIKE 'old%'), "
                "(SELECT count(*) FROM events WHERE address IS NULL "
                "AND external_id LIKE 'new%'), "
                "(SELECT count(*) FROM ingest_rejections WHERE raw = '')"
            )
        ).one()
        audited = conn.execute(
            text(
                "SELECT who, rows FROM audit_log WHERE action = 'retention_purge' "
                "AND id > :after ORDER BY id"
            ),
            {"after": planted.audit_after},
        ).all()
    counts = dict(zip(("old", "recent", "rejected"), row, strict=True))
    return counts | {"audited": [tuple(a) for a in audited]}


def jobs_worker_env(settings: Settings, policy: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``geotranquil worker`` on the job tests' database and policy."""
    return worker_env(settings, GEOTRANQUIL_RETENTION_FILE=str(policy), **extra)


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[StartWorker]:
    """Start ``geotranquil worker`` processes; any still running at the end is stopped."""
    with worker_processes(tmp_path) as start:
        yield start
