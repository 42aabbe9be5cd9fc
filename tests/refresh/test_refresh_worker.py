"""A real worker refreshes the analyses: once per debounce window, when data change outside a
push, never when nothing changed, always when the nightly schedule says so."""

from __future__ import annotations

from collections.abc import Callable
from subprocess import Popen

from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.jobs import (
    REFRESH_ANALYSES,
    REFRESH_CHECK,
    SEND_ALERTS,
    build_app,
    request_refresh,
    run_worker,
)
from geotranquil.jobs.names import ANALYSES
from geotranquil.services.jobs import recent_jobs
from tests.workers import wait_for

from .conftest import land_cells, plant_background, plant_cluster, refresh_worker_env, refreshes

#: a nightly schedule that never falls during a test
NEVER = "0 0 29 2 1"


def _succeeded(engine: Engine, n: int) -> bool:
    return sum(1 for r in refreshes(engine) if r[2] == "succeeded") >= n


def _idle(engine: Engine) -> bool:
    """No refresh waiting or running."""
    jobs = recent_jobs(engine, task=REFRESH_ANALYSES)
    return not [j for j in jobs if j.state in ("todo", "doing")]


def _checks_since(engine: Engine, refresh_id: int) -> int:
    """Periodic checks finished after refresh ``refresh_id`` ended."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM procrastinate_jobs j JOIN procrastinate_events e "
                    "ON e.job_id = j.id AND e.type = 'succeeded' WHERE j.task_name = :t "
                    "AND e.at > (SELECT finished_at FROM analysis_refreshes WHERE id = :r)"
                ),
                {"t": REFRESH_CHECK, "r": refresh_id},
            ).scalar_one()
        )


def _events_version(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT events_version FROM data_version")).scalar_one())


def test_two_quick_requests_give_one_refresh_after_the_debounce(
    empty: Engine, settings: Settings, start_worker: Callable[[dict[str, str]], Popen[bytes]]
) -> None:
    plant_background(empty)
    quick = settings.model_copy(update={"refresh_debounce_s": 2.0})
    first = request_refresh(quick, "data")
    assert first is not None
    assert request_refresh(quick, "data") is None  # folded into the waiting one
    start_worker(refresh_worker_env(settings, GEOTRANQUIL_REFRESH_CRON=NEVER))
    wait_for(lambda: _succeeded(empty, 1) and _idle(empty), "the refresh", timeout=180)
    [(_, trigger, status, forced)] = refreshes(empty)
    assert (trigger, status, forced) == ("data", "succeeded", False)
    [job] = recent_jobs(empty, task=REFRESH_ANALYSES)
    assert job.id == first and job.state == "succeeded"
    assert job.started_at is not None and job.queued_at is not None
    assert (job.started_at - job.queued_at).total_seconds() >= 1.9  # the debounce


def test_changes_outside_a_push_are_noticed_once_and_nothing_else_is_done(
    empty: Engine, settings: Settings, start_worker: Callable[[dict[str, str]], Popen[bytes]]
) -> None:
    env = refresh_worker_env(
        settings,
        GEOTRANQUIL_REFRESH_CRON=NEVER,
        GEOTRANQUIL_REFRESH_CHECK_CRON="* * * * * *",
        GEOTRANQUIL_REFRESH_DEBOUNCE_S="2",
    )
    start_worker(env)
    # no event: one request, found with nothing to do, and no request loop after it
    wait_for(lambda: refreshes(empty), "the first check", timeout=60)
    [(empty_id, _, status, _)] = refreshes(empty)
    assert status == "skipped"
    wait_for(lambda: _checks_since(empty, empty_id) >= 3, "three more checks")
    assert len(refreshes(empty)) == 1

    plant_background(empty)  # as a `geotranquil ingest` without --refresh would
    wait_for(lambda: _succeeded(empty, 1) and _idle(empty), "the data refresh", timeout=180)
    done = refreshes(empty)[-1]
    assert done[1:] == ("data", "succeeded", False)
    wait_for(lambda: _checks_since(empty, done[0]) >= 3, "three checks after it")
    assert len(refreshes(empty)) == 2  # no change: nothing done

    # two changes within the debounce window: one refresh, from the last one's version
    cells = land_cells(empty)
    plant_cluster(empty, cells[10], n=30)
    plant_cluster(empty, cells[20], n=30)
    wait_for(lambda: _succeeded(empty, 2) and _idle(empty), "the second refresh", timeout=180)
    wait_for(lambda: _checks_since(empty, refreshes(empty)[-1][0]) >= 3, "three checks after it")
    rows = refreshes(empty)
    assert [r[1:] for r in rows[2:]] == [("data", "succeeded", False)]
    with empty.connect() as conn:
        last = conn.execute(
            text("SELECT data_version FROM analysis_refreshes ORDER BY id DESC LIMIT 1")
        ).scalar_one()
    assert last == _events_version(empty)


def test_the_nightly_refresh_is_forced(
    empty: Engine, settings: Settings, start_worker: Callable[[dict[str, str]], Popen[bytes]]
) -> None:
    plant_background(empty)
    quick = settings.model_copy(update={"refresh_debounce_s": 0.0})
    request_refresh(quick, "data")
    # every 5 seconds stands for every night; the check runs every second
    env = refresh_worker_env(
        settings,
        GEOTRANQUIL_REFRESH_CRON="* * * * * */5",
        GEOTRANQUIL_REFRESH_CHECK_CRON="* * * * * *",
    )
    start_worker(env)
    wait_for(
        lambda: any(r[1:] == ("schedule", "succeeded", True) for r in refreshes(empty)),
        "a nightly refresh",
        timeout=240,
    )
    rows = refreshes(empty)
    assert rows[0][1:] == ("data", "succeeded", False)
    # the events did not change between them: only the forced one computed again
    assert ("schedule", "succeeded", True) in [r[1:] for r in rows[1:]]


def test_alerts_are_queued_after_a_successful_refresh(empty: Engine, settings: Settings) -> None:
    """A successful refresh queues ``send_alerts`` with its id (and the worker runs it); a
    skipped refresh queues nothing."""
    app = build_app(settings)
    plant_background(empty)
    with app.open():
        app.tasks[REFRESH_ANALYSES].defer(trigger="manual", force=False)
    run_worker(settings, queues=[ANALYSES], wait=False)
    with app.open():
        app.tasks[REFRESH_ANALYSES].defer(trigger="data", force=False)
    run_worker(settings, queues=[ANALYSES], wait=False)
    [(done, *_), (_, _, status, _)] = refreshes(empty)
    assert status == "skipped"
    with empty.connect() as conn:
        alerts = conn.execute(
            text(
                # the periodic run of ``alerts_cron`` (args ``timestamp``) may fall in the test
                "SELECT status::text, args FROM procrastinate_jobs WHERE task_name = :t "
                "AND args ->> 'timestamp' IS NULL ORDER BY id"
            ),
            {"t": SEND_ALERTS},
        ).all()
    assert [(s, a) for s, a in alerts] == [("succeeded", {"refresh_id": done})]
