"""After a batch stored events, the refresh of the analyses is queued once, after the debounce.

The refresh job itself belongs to another part of issue 16; here a task of that name is
registered on the queue so that the deferral is observed for real in procrastinate's tables.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.jobs import build_app
from geotranquil.jobs.ingest import queue_refresh
from geotranquil.jobs.names import ANALYSES, REFRESH_ANALYSES


def test_the_refresh_is_queued_once_after_the_debounce(clean: Engine, settings: Settings) -> None:
    app = build_app(settings)
    if REFRESH_ANALYSES not in app.tasks:  # until the refresh job is merged

        @app.task(name=REFRESH_ANALYSES, queue=ANALYSES, queueing_lock=REFRESH_ANALYSES)
        def refresh() -> None:
            """Stands for the refresh of the analyses."""

    debounce = settings.model_copy(update={"refresh_debounce_s": 60})
    before = datetime.now(UTC)
    with app.open():
        assert queue_refresh(app, debounce) is True
        assert queue_refresh(app, debounce) is False  # one waits already: the batches join it
    with clean.connect() as conn:
        jobs = conn.execute(
            text("SELECT status::text, scheduled_at FROM procrastinate_jobs WHERE task_name = :t"),
            {"t": REFRESH_ANALYSES},
        ).all()
    [(status, scheduled_at)] = jobs
    assert status == "todo"
    assert (
        before + timedelta(seconds=59) <= scheduled_at <= datetime.now(UTC) + timedelta(seconds=61)
    )


def test_without_the_refresh_job_nothing_is_queued(clean: Engine, settings: Settings) -> None:
    app = build_app(settings)
    if REFRESH_ANALYSES in app.tasks:  # the refresh job is merged: covered above
        return
    with app.open():
        assert queue_refresh(app, settings) is False
