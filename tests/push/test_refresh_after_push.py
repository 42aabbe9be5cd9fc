"""After a batch stored events, the refresh of the analyses is queued once, after the debounce
(observed in procrastinate's tables; the refresh itself is tested in ``tests/refresh/``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.jobs import build_app
from geotranquil.jobs.ingest import queue_refresh
from geotranquil.jobs.names import REFRESH_ANALYSES


def test_the_refresh_is_queued_once_after_the_debounce(clean: Engine, settings: Settings) -> None:
    app = build_app(settings)
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
