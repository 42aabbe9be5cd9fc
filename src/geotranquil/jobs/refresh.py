"""Refreshing the analyses: the job, its debounced request, and the periodic check.

- :data:`REFRESH_ANALYSES` recomputes the default runs (``services.refresh``). It holds a
  procrastinate ``lock`` (one runs at a time) and a ``queueing_lock`` (one waits at a time):
  requests made while one waits are folded into it, which is the debounce.
- :func:`request_refresh` queues it ``delay_s`` seconds later (the debounce); a request made
  while one already waits returns None.
- :data:`REFRESH_CHECK` runs every minute (``refresh_check_cron``, UTC): the nightly full
  refresh when ``refresh_cron`` fell since the previous check, evaluated in the local time of
  ``timezone`` (procrastinate reads a periodic task's cron in UTC, so the nightly schedule is
  read here, where the time zone is known), else a debounced refresh when the events changed
  outside a push (a ``geotranquil ingest`` without a worker, a purge, SQL by hand).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import procrastinate
from croniter import croniter
from procrastinate import JobContext
from procrastinate.exceptions import AlreadyEnqueued

from geotranquil.config import Settings
from geotranquil.jobs.common import retry_strategy
from geotranquil.jobs.names import (
    ANALYSES,
    HOUSEKEEPING,
    REFRESH_ANALYSES,
    REFRESH_CHECK,
    SEND_ALERTS,
)
from geotranquil.services.engine import open_engine
from geotranquil.services.refresh import pending_change, refresh_analyses

log = logging.getLogger(__name__)


#: the queueing lock of the nightly refresh: a forced refresh is never folded into a waiting
#: unforced one
NIGHTLY_LOCK = f"{REFRESH_ANALYSES}:schedule"


def defer_refresh(
    app: procrastinate.App, trigger: str, delay_s: float, *, force: bool = False
) -> int | None:
    """Queue a refresh on an open ``app`` in ``delay_s`` seconds; its job id, or None when
    one already waits (that one will see the same data, later)."""
    task = app.tasks[REFRESH_ANALYSES].configure(
        schedule_at=datetime.now(UTC) + timedelta(seconds=max(0.0, float(delay_s))),
        queueing_lock=NIGHTLY_LOCK if trigger == "schedule" else REFRESH_ANALYSES,
    )
    try:
        return int(task.defer(trigger=trigger, force=force))
    except AlreadyEnqueued:
        log.info("refresh requested (%s) while one already waits: folded into it", trigger)
        return None


def request_refresh(
    settings: Settings, trigger: str = "data", delay_s: float | None = None, *, force: bool = False
) -> int | None:
    """Queue a refresh in ``delay_s`` seconds (``refresh_debounce_s`` by default): the
    requests of that window give one refresh. Its job id, or None when one already waits."""
    from geotranquil.jobs.app import build_app

    app = build_app(settings)
    with app.open():
        return defer_refresh(
            app, trigger, settings.refresh_debounce_s if delay_s is None else delay_s, force=force
        )


def queue_manual_refresh(settings: Settings) -> int:
    """Queue a forced refresh now (the manual trigger); its job id. Raises
    :class:`~geotranquil.jobs.app.AlreadyQueued` (409) when one already waits."""
    from geotranquil.jobs.app import AlreadyQueued

    job_id = request_refresh(settings, "manual", 0, force=True)
    if job_id is None:
        raise AlreadyQueued(
            "une actualisation des analyses attend déjà dans la file : elle prendra en compte "
            "les données actuelles (geotranquil jobs pour la suivre)"
        )
    return job_id


def nightly_due(settings: Settings, since: float, until: float) -> bool:
    """Whether ``refresh_cron``, read in local time (``timezone``), fell in ``(since, until]``
    (POSIX timestamps).

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> s = Settings(refresh_cron="30 2 * * *", timezone="Europe/Paris")
    >>> at = datetime(2026, 12, 7, 1, 30, tzinfo=timezone.utc).timestamp()  # 02:30 in Paris
    >>> nightly_due(s, at - 60, at), nightly_due(s, at, at + 60)
    (True, False)
    """
    zone = ZoneInfo(settings.timezone)
    after = datetime.fromtimestamp(since, zone)
    next_fire = croniter(settings.refresh_cron, start_time=after).get_next(float)
    return bool(next_fire <= until)


def register(app: procrastinate.App, settings: Settings) -> None:
    """Register the refresh job and its periodic check on ``app``; they run with ``settings``."""

    @app.task(
        name=REFRESH_ANALYSES,
        queue=ANALYSES,
        retry=retry_strategy(settings),
        lock=REFRESH_ANALYSES,
        queueing_lock=REFRESH_ANALYSES,
        pass_context=True,
    )
    def refresh_job(context: JobContext, trigger: str = "data", force: bool = False) -> int:
        """Recompute the served analyses; the refresh's id. After a successful one, the
        alerts are evaluated (the ``send_alerts`` job, when a worker registers it)."""
        assert context.job is not None and context.job.id is not None
        report = refresh_analyses(
            open_engine(settings), settings, trigger=trigger, force=force, job_id=context.job.id
        )
        if report.status == "succeeded":  # the new runs may fire analysts' alert rules
            context.app.tasks[SEND_ALERTS].defer(refresh_id=report.refresh_id)
        return report.refresh_id

    @app.periodic(cron=settings.refresh_check_cron, periodic_id=REFRESH_CHECK)
    @app.task(
        name=REFRESH_CHECK, queue=HOUSEKEEPING, queueing_lock=REFRESH_CHECK, pass_context=True
    )
    def refresh_check(context: JobContext, timestamp: int) -> str:
        """Queue the nightly refresh when due, or a debounced one when the events changed;
        what was done (``nightly``, ``data``, ``waiting``, ``none``)."""
        previous = croniter(settings.refresh_check_cron, start_time=timestamp).get_prev(float)
        if nightly_due(settings, previous, timestamp):
            queued = defer_refresh(context.app, "schedule", 0, force=True)
            return "nightly" if queued else "waiting"
        if pending_change(open_engine(settings)):
            queued = defer_refresh(context.app, "data", settings.refresh_debounce_s)
            return "data" if queued else "waiting"
        return "none"
