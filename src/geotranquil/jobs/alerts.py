"""The alerts job: evaluate every active rule, record what fires, deliver what is due.

Queued by the refresh of the analyses after new data, by the hourly schedule
(``alerts_cron``), by hand (``geotranquil jobs``), and by itself when a failed delivery waits
for its next attempt. Two runs never overlap (``lock``); a run killed in the middle leaves
either nothing or its alerts recorded, and its re-run sends each of them once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

import procrastinate
from procrastinate import JobContext
from procrastinate.exceptions import AlreadyEnqueued

from geotranquil.config import Settings
from geotranquil.jobs.common import retry_strategy
from geotranquil.jobs.names import ANALYSES, SEND_ALERTS
from geotranquil.services.alert_delivery import deliver_due, next_due
from geotranquil.services.alerts import fire
from geotranquil.services.engine import open_engine

log = logging.getLogger(__name__)
#: the queueing lock of the run that waits for the next attempt of a failed delivery
RETRY_LOCK = f"{SEND_ALERTS}:retry"


def register(app: procrastinate.App, settings: Settings) -> None:
    """Register the alerts job and its hourly schedule on ``app``."""

    def run() -> tuple[int, int, int, int, datetime | None]:
        engine = open_engine(settings)
        fired = fire(engine=engine, settings=settings)
        report = deliver_due(engine=engine, settings=settings)
        return len(fired), report.sent, report.retried, report.failed, next_due(engine=engine)

    @app.periodic(cron=settings.alerts_cron, periodic_id=SEND_ALERTS)
    @app.task(
        name=SEND_ALERTS,
        queue=ANALYSES,
        retry=retry_strategy(settings),
        lock=SEND_ALERTS,
        pass_context=True,
    )
    async def send_alerts(
        context: JobContext, timestamp: int | None = None, refresh_id: int | None = None
    ) -> dict[str, int]:
        """Alerts fired now and deliveries sent, put back, failed; a later run is queued
        for the next pending delivery. Queued hourly (``timestamp``), after each refresh of
        the analyses (``refresh_id``, for the log) and for a delivery's next attempt."""
        fired, sent, retried, failed, due = await asyncio.to_thread(run)
        if due is not None:
            # a run already waiting (AlreadyEnqueued) sends whatever is due by then
            with contextlib.suppress(AlreadyEnqueued):
                await context.app.configure_task(
                    SEND_ALERTS,
                    queueing_lock=RETRY_LOCK,
                    schedule_at=max(due, datetime.now(UTC)),
                ).defer_async()
        log.info(
            "alerts%s: %s fired, %s sent, %s to retry, %s failed",
            f" after refresh {refresh_id}" if refresh_id is not None else "",
            fired,
            sent,
            retried,
            failed,
        )
        return {"fired": fired, "sent": sent, "retried": retried, "failed": failed}
