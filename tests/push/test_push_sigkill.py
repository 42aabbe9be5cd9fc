"""A worker killed with SIGKILL in the middle of a pushed batch: a worker started again
resumes the batch after its last committed chunk, and every event is stored exactly once.

The kill happens at a known point: after the first chunks are committed, the test takes the
lock that serialises the writers of the source (``db/ingest.py:lock_source``), so the job
waits on it before its next chunk; then the worker is killed.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.db.ingest import _SOURCE_LOCK
from geotranquil.jobs.names import INGEST_BATCH
from geotranquil.services.jobs import recent_jobs
from geotranquil.services.push import spool_dir
from tests.workers import wait_for

from .conftest import SOURCE_A, Keys, push_worker_env

EVENTS = 20_000
CHUNK = 1_000  # GEOTRANQUIL_INGEST_CHUNK_ROWS of the workers


def _payload() -> str:
    lines = []
    for i in range(EVENTS):
        lines.append(
            json.dumps(
                {
                    "id": f"K-{i}",
                    "occurred_at": f"2026-02-{1 + i % 28:02d}T{i % 24:02d}:30:00+01:00",
                    "category": ("vol", "rixe_violence", "tag_graffiti")[i % 3],
                    "lon": 5.38 + (i % 100) * 0.0003,
                    "lat": 43.30 + (i // 100 % 100) * 0.0002,
                }
            )
        )
    return "\n".join(lines) + "\n"


def _progress(engine: Engine, batch_id: int) -> tuple[str, int, int, int]:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT p.state, coalesce(b.rows_committed, 0), coalesce(b.inserted, 0), "
                "coalesce(b.resumed, 0) FROM push_batches p "
                "LEFT JOIN ingest_batches b ON b.id = p.ingest_batch_id WHERE p.id = :i"
            ),
            {"i": batch_id},
        ).one()
    return str(row[0]), int(row[1]), int(row[2]), int(row[3])


def _waiting_writer(engine: Engine) -> int | None:
    """The server process of the job waiting for the source's lock, if any."""
    with engine.connect() as conn:
        pid = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND wait_event = 'advisory' "
                "AND query LIKE 'SELECT pg_advisory_xact_lock%'"
            )
        ).scalar()
    return None if pid is None else int(pid)


def test_a_worker_killed_mid_batch_resumes_and_stores_each_event_once(
    clean: Engine,
    server: str,
    keys: Keys,
    settings: Settings,
    start_worker: Callable[[dict[str, str]], subprocess.Popen[bytes]],
) -> None:
    with httpx.Client(base_url=server, headers={"X-API-Key": keys.partner_a}, timeout=60) as h:
        r = h.post(
            f"/sources/{SOURCE_A}/batches",
            content=_payload(),
            headers={"Content-Type": "application/x-ndjson"},
        )
    assert r.status_code == 202, r.text
    batch_id = r.json()["id"]
    with clean.connect() as conn:
        source_id = conn.execute(
            text("SELECT id FROM sources WHERE slug = :s"), {"s": SOURCE_A}
        ).scalar_one()
    env = push_worker_env(
        settings,
        GEOTRANQUIL_INGEST_CHUNK_ROWS=str(CHUNK),
        GEOTRANQUIL_JOBS_HEARTBEAT_S="0.5",
        GEOTRANQUIL_JOBS_STALLED_AFTER_S="3",
        GEOTRANQUIL_JOBS_STALLED_CHECK_CRON="* * * * * *",
    )
    holder = clean.connect()
    first = start_worker(env)
    try:
        wait_for(lambda: _progress(clean, batch_id)[1] >= 2 * CHUNK, "two chunks committed")
        # between two chunks, the job's next one waits for this lock
        holder.execute(text("SELECT pg_advisory_lock(:a, :s)"), {"a": _SOURCE_LOCK, "s": source_id})
        pid = wait_for(lambda: _waiting_writer(clean), "the job to wait for the source's lock")
        state, committed, inserted, resumed = _progress(clean, batch_id)
        assert state == "running" and 2 * CHUNK <= committed < EVENTS
        assert (committed % CHUNK, inserted, resumed) == (0, committed, 0)
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
    finally:
        holder.execute(
            text("SELECT pg_advisory_unlock(:a, :s)"), {"a": _SOURCE_LOCK, "s": source_id}
        )
        holder.commit()
        holder.close()

    def gone() -> bool:
        with clean.connect() as conn:
            return not conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid}
            ).scalar_one()

    wait_for(gone, "the dead worker's transaction to end")
    with clean.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
    assert stored == committed  # whole chunks only
    spooled = list(Path(spool_dir(settings)).iterdir())
    assert len(spooled) == 1  # kept until the batch is done

    second = start_worker(env)
    wait_for(lambda: _progress(clean, batch_id)[0] == "done", "the batch to be done", 180)
    assert second.poll() is None
    state, committed_after, inserted, resumed = _progress(clean, batch_id)
    assert (state, committed_after, inserted, resumed) == ("done", EVENTS, EVENTS, 1)
    with clean.connect() as conn:
        total, distinct = conn.execute(
            text("SELECT count(*), count(DISTINCT external_id) FROM events")
        ).one()
    assert (total, distinct) == (EVENTS, EVENTS)
    [job] = recent_jobs(clean, task=INGEST_BATCH)
    assert (job.state, job.attempts_made) == ("succeeded", 2)
    assert list(Path(spool_dir(settings)).iterdir()) == []
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=30) == 0
