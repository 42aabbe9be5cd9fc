"""Queueing a job by hand, running it, failing with backoff: what staff see at each step.

The worker runs in this process (``wait=False``: it stops once nothing is due), on the real
queue in PostgreSQL.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text
from typer.testing import CliRunner

from geotranquil.cli.main import app as cli
from geotranquil.config import Settings
from geotranquil.jobs import RETENTION_PURGE, run_worker
from geotranquil.services.jobs import recent_jobs
from tests.workers import wait_for

from .conftest import DAY, OLD, REJECTED, Planted, cleared


def _env(settings: Settings, policy: Path) -> dict[str, str]:
    return {
        "GEOTRANQUIL_DATABASE_URL": settings.database_url,
        "GEOTRANQUIL_RETENTION_FILE": str(policy),
        "COLUMNS": "200",
    }


def _now(engine: Engine) -> datetime:
    with engine.connect() as conn:
        return conn.execute(text("SELECT now()")).scalar_one()


def test_a_purge_queued_by_hand_runs_once_audited_and_listed(
    planted: Planted, settings: Settings, engine: Engine
) -> None:
    runner = CliRunner()
    env = _env(settings, planted.policy)
    queued = runner.invoke(cli, ["jobs", "run", "retention-purge", "--date", str(DAY)], env=env)
    assert queued.exit_code == 0, queued.output
    assert "Purge du 2026-06-15 mise en file : tâche n° 1." in queued.output
    again = runner.invoke(cli, ["jobs", "run", "retention-purge", "--date", str(DAY)], env=env)
    assert again.exit_code == 2
    assert "une tâche retention_purge attend déjà dans la file" in again.output

    [job] = recent_jobs(engine, task=RETENTION_PURGE)
    assert (job.id, job.state, job.attempts_made, job.args) == (1, "todo", 0, {"day": "2026-06-15"})
    for command in (["jobs", "list"], ["jobs"]):
        listed = runner.invoke(cli, command, env=env)
        assert listed.exit_code == 0, listed.output
        assert "retention_purge" in listed.output and "en attente" in listed.output
    assert cleared(engine, planted) == {"old": 0, "recent": 0, "rejected": 0, "audited": []}

    run_worker(settings.model_copy(update={"retention_file": planted.policy}), wait=False)

    [job] = recent_jobs(engine, task=RETENTION_PURGE)
    assert (job.state, job.attempts_made) == ("succeeded", 1)
    assert job.started_at is not None and job.finished_at is not None
    assert cleared(engine, planted) == {
        "old": OLD,
        "recent": 0,
        "rejected": REJECTED,
        "audited": [("job:retention_purge:1", OLD + REJECTED)],
    }
    listed = runner.invoke(cli, ["jobs", "list", "--state", "succeeded"], env=env)
    assert "réussie" in listed.output and "en attente" not in listed.output
    wrong = runner.invoke(cli, ["jobs", "list", "--state", "perdu"], env=env)
    assert wrong.exit_code == 2
    assert "état « perdu » inconnu" in wrong.output


def test_a_failing_job_retries_with_exponential_backoff_then_stays_failed(
    planted: Planted, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('[[rule]]\nsource = "*"\ndata = "adresse"\ndays = 30\n', "utf-8")
    failing = settings.model_copy(
        update={"retention_file": broken, "jobs_max_attempts": 3, "jobs_backoff_s": 2}
    )
    from geotranquil.jobs import enqueue

    job_id = enqueue(failing, RETENTION_PURGE, day=str(DAY))
    for attempt, wait in ((1, 2), (2, 4)):
        before = _now(engine)
        run_worker(failing, wait=False)
        after = _now(engine)
        [job] = recent_jobs(engine, task=RETENTION_PURGE)
        assert (job.id, job.state, job.attempts_made) == (job_id, "todo", attempt)
        assert job.scheduled_at is not None
        # backoff 2 ** attempt seconds after the failure, which happened between before and after
        assert before + timedelta(seconds=wait) <= job.scheduled_at
        assert job.scheduled_at <= after + timedelta(seconds=wait)
        due = job.scheduled_at
        listed = CliRunner().invoke(cli, ["jobs"], env=_env(settings, planted.policy))
        local = due.astimezone(ZoneInfo(settings.timezone)).strftime("%H:%M:%S")
        row = [str(job_id), RETENTION_PURGE, "en", "attente", str(attempt)]
        assert [*row, "prévue", local] in [
            line.split()[:5] + line.split()[-2:]
            for line in listed.output.splitlines()
            if line.strip()
        ]
        wait_for(lambda due=due: _now(engine) >= due, "the retry to be due", timeout=30)
    run_worker(failing, wait=False)

    [job] = recent_jobs(engine, task=RETENTION_PURGE)
    assert (job.state, job.attempts_made) == ("failed", 3)
    assert cleared(engine, planted) == {"old": 0, "recent": 0, "rejected": 0, "audited": []}
    listed = CliRunner().invoke(
        cli, ["jobs", "list", "--state", "failed"], env=_env(settings, planted.policy)
    )
    assert listed.exit_code == 0, listed.output
    rows = [line.split() for line in listed.output.splitlines()]
    assert [str(job_id), RETENTION_PURGE, "en", "échec", "3"] in [r[:5] for r in rows]


def test_a_worker_runs_from_a_thread_where_an_event_loop_runs(
    planted: Planted, settings: Settings, engine: Engine
) -> None:
    """A notebook (or a synchronous Playwright session) has an event loop running in its
    thread: ``run_worker`` still runs the queue, on a thread and loop of its own."""
    from geotranquil.jobs import enqueue

    purge_settings = settings.model_copy(update={"retention_file": planted.policy})
    enqueue(purge_settings, RETENTION_PURGE, day=DAY.isoformat())

    async def inside_a_running_loop() -> None:
        run_worker(purge_settings, wait=False)

    asyncio.run(inside_a_running_loop())
    [job] = recent_jobs(engine, task=RETENTION_PURGE)
    assert job.state == "succeeded"
    assert cleared(engine, planted)["old"] == OLD
