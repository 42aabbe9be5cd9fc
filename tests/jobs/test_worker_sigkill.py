"""A worker killed with SIGKILL in the middle of a purge: nothing of it is committed, a worker
started again finds the job of the dead worker (heartbeats), runs it once to completion, and
every row is cleared exactly once (one audit row, exact counts)."""

from __future__ import annotations

import signal
from collections.abc import Callable
from subprocess import Popen

from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.jobs import RETENTION_PURGE, enqueue
from geotranquil.services.jobs import recent_jobs
from tests.workers import wait_for

from .conftest import DAY, OLD, REJECTED, Planted, cleared, jobs_worker_env

#: the purge's statement that clears rejected rows, the last one before its audit row
CLEARING_REJECTS = "UPDATE ingest_rejections SET raw = ''%"


def _blocked_purge(engine: Engine) -> tuple[int, int] | None:
    """The server process of a purge waiting for a row lock on a rejected row, and the number of
    events its open transaction has already changed (their committed version, the one we see,
    carries its transaction id as ``xmax``), when there is one."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT a.pid, (SELECT count(*) FROM events e "
                "  WHERE e.xmax::text = a.backend_xid::text)"
                "  FROM pg_stat_activity a "
                " WHERE a.datname = current_database() AND a.wait_event_type = 'Lock' "
                "   AND a.query LIKE :q"
            ),
            {"q": CLEARING_REJECTS},
        ).first()
    return None if row is None else (int(row[0]), int(row[1]))


def _gone(engine: Engine, pid: int) -> bool:
    with engine.connect() as conn:
        return not conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid}
        ).scalar_one()


def test_a_job_killed_mid_way_runs_again_once_to_completion(
    planted: Planted,
    settings: Settings,
    engine: Engine,
    start_worker: Callable[[dict[str, str]], Popen[bytes]],
) -> None:
    env = jobs_worker_env(
        settings,
        planted.policy,
        GEOTRANQUIL_JOBS_HEARTBEAT_S="0.5",
        GEOTRANQUIL_JOBS_STALLED_AFTER_S="3",
        GEOTRANQUIL_JOBS_STALLED_CHECK_CRON="* * * * * *",
    )
    job_id = enqueue(settings, RETENTION_PURGE, day=str(DAY))

    # a reader holds one old rejected row: the purge will clear the events, then wait for it
    holder = engine.connect()
    holder.execute(
        text("SELECT id FROM ingest_rejections WHERE batch_id = :b AND row_number = 1 FOR UPDATE"),
        {"b": planted.batch},
    )
    first = start_worker(env)
    try:
        pid, changed = wait_for(lambda: _blocked_purge(engine), "the purge to be mid-way")  # type: ignore[misc]
        # mid-way for real: its transaction has already cleared every old address
        assert changed == OLD
        [job] = recent_jobs(engine, task=RETENTION_PURGE)
        assert (job.id, job.state, job.attempts_made) == (job_id, "doing", 1)

        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
    finally:
        holder.rollback()
        holder.close()
    # the server process of the dead worker finds its client gone and rolls back
    wait_for(lambda: _gone(engine, pid), "the dead worker's transaction to end")
    assert cleared(engine, planted) == {"old": 0, "recent": 0, "rejected": 0, "audited": []}
    [job] = recent_jobs(engine, task=RETENTION_PURGE)
    assert job.state == "doing"  # as the dead worker left it

    second = start_worker(env)
    wait_for(
        lambda: recent_jobs(engine, task=RETENTION_PURGE)[0].state == "succeeded",
        "the job to be run again to completion",
    )
    assert second.poll() is None
    [job] = recent_jobs(engine, task=RETENTION_PURGE)
    # two runs: the killed one (queued again as a stalled job) and the one that finished
    assert (job.id, job.state, job.attempts_made) == (job_id, "succeeded", 2)
    assert cleared(engine, planted) == {
        "old": OLD,
        "recent": 0,
        "rejected": REJECTED,
        "audited": [(f"job:retention_purge:{job_id}", OLD + REJECTED)],
    }
    with engine.connect() as conn:
        history = conn.execute(
            text("SELECT type::text FROM procrastinate_events WHERE job_id = :j ORDER BY id"),
            {"j": job_id},
        ).scalars()
        events = list(history)
        # queued, started by the first worker (killed), found stalled (its heartbeat stopped)
        # and queued again (procrastinate logs "scheduled" once or twice, by timing), started
        # once more and done: two starts, one success, nothing else
        assert events[:2] == ["deferred", "started"], events
        assert events[-2:] == ["started", "succeeded"], events
        assert events.count("started") == 2 and events.count("succeeded") == 1, events
        assert events.count("deferred_for_retry") == 1, events
        assert set(events[2:-2]) == {"scheduled", "deferred_for_retry"}, events
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=30) == 0
