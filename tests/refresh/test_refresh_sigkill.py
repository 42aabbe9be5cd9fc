"""A worker killed with SIGKILL in the middle of a refresh: the runs it had committed stay (as
superseded ones), its refresh is marked interrupted, the job runs again whole on another worker,
and every layer's default run is then the new refresh's, computed from the current events."""

from __future__ import annotations

import signal
from collections.abc import Callable
from subprocess import Popen

import pytest
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.jobs import REFRESH_ANALYSES, request_refresh
from geotranquil.jobs.refresh import queue_manual_refresh
from geotranquil.services.freshness import freshness
from geotranquil.services.jobs import recent_jobs
from geotranquil.stats.registry import STATISTICS
from tests.workers import wait_for

from .conftest import plant_background, refresh_worker_env, refreshes

#: a cron that never falls during a test (29 February on a Monday)
NEVER = "0 0 29 2 1"


def _blocked_on_forecast(engine: Engine) -> bool:
    """The refresh has stored every hot-spot run and waits to store its forecast."""
    with engine.connect() as conn:
        runs = conn.execute(
            text("SELECT runs FROM analysis_refreshes WHERE status = 'running'")
        ).scalar()
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO forecast_runs%'"
            )
        ).scalar_one()
    return bool(runs) and set(runs) == set(STATISTICS) and waiting == 1


@pytest.mark.parametrize("requested_meanwhile", [False, True])
def test_a_refresh_killed_mid_way_runs_again_and_leaves_one_consistent_default(
    empty: Engine,
    settings: Settings,
    start_worker: Callable[[dict[str, str]], Popen[bytes]],
    requested_meanwhile: bool,
) -> None:
    """``requested_meanwhile``: a push requests a refresh while the killed one is still taken
    for running; that request does the work, and the killed job is closed (queued again, it
    would clash with the waiting one's queueing lock, and left running, hold its lock)."""
    plant_background(empty)
    env = refresh_worker_env(
        settings,
        GEOTRANQUIL_REFRESH_CRON=NEVER,
        GEOTRANQUIL_REFRESH_CHECK_CRON=NEVER,
        GEOTRANQUIL_JOBS_HEARTBEAT_S="0.5",
        GEOTRANQUIL_JOBS_STALLED_AFTER_S="3",
        GEOTRANQUIL_JOBS_STALLED_CHECK_CRON="* * * * * *",
    )
    job_id = queue_manual_refresh(settings)
    holder = empty.connect()  # holds the forecasts' table: the refresh stops before its last run
    holder.execute(text("LOCK TABLE forecast_runs IN EXCLUSIVE MODE"))
    first = start_worker(env)
    try:
        wait_for(lambda: _blocked_on_forecast(empty), "the refresh to be mid-way", timeout=180)
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
    finally:
        holder.rollback()
        holder.close()
    pushed = request_refresh(settings, "data", 0) if requested_meanwhile else None

    start_worker(env)
    wait_for(
        lambda: (
            [r[2] for r in refreshes(empty)] == ["interrupted", "succeeded"]
            and not [
                j for j in recent_jobs(empty, task=REFRESH_ANALYSES) if j.state in ("todo", "doing")
            ]
        ),
        "the refresh to run again",
        timeout=240,
    )
    jobs = {j.id: (j.state, j.attempts_made) for j in recent_jobs(empty, task=REFRESH_ANALYSES)}
    if requested_meanwhile:
        assert jobs == {job_id: ("failed", 1), pushed: ("succeeded", 1)}
    else:
        assert jobs == {job_id: ("succeeded", 2)}
    with empty.connect() as conn:
        rows = conn.execute(
            text("SELECT id, status, runs, job_id FROM analysis_refreshes ORDER BY id")
        ).all()
        hotspot_runs = conn.execute(text("SELECT count(*) FROM hotspot_runs")).scalar_one()
        forecast_runs = conn.execute(text("SELECT count(*) FROM forecast_runs")).scalar_one()
    killed, done = rows
    assert set(killed.runs) == set(STATISTICS) and killed.job_id == job_id
    assert done.job_id == (pushed if requested_meanwhile else job_id)
    assert set(done.runs) == {*STATISTICS, "forecast"}
    # the killed refresh's hot-spot runs stay, superseded; its forecast was never committed
    assert (hotspot_runs, forecast_runs) == (2 * len(STATISTICS), 1)
    fresh = freshness(empty)
    for stat in STATISTICS.values():
        run = fresh["layers"][stat.collection]["run"]
        assert (run["id"], run["refresh_id"], run["up_to_date"]) == (
            done.runs[stat.name],
            done.id,
            True,
        )
    assert fresh["layers"]["forecast"]["run"]["id"] == done.runs["forecast"]
