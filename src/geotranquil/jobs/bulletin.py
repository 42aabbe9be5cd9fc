"""The weekly bulletin's job: built every Monday for the past week (``bulletin_cron``) and
on demand for any ended week; stored (a rebuild replaces it) and e-mailed when SMTP is set."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import procrastinate
from procrastinate import JobContext

from geotranquil.config import Settings
from geotranquil.jobs.common import retry_strategy
from geotranquil.jobs.names import ANALYSES, BUILD_BULLETIN
from geotranquil.services import bulletin
from geotranquil.services.engine import open_engine

log = logging.getLogger(__name__)


def register(app: procrastinate.App, settings: Settings) -> None:
    """Register the bulletin's job on ``app``; it runs with ``settings``."""

    @app.periodic(cron=settings.bulletin_cron, periodic_id=BUILD_BULLETIN)
    @app.task(
        name=BUILD_BULLETIN,
        queue=ANALYSES,
        retry=retry_strategy(settings),
        lock=BUILD_BULLETIN,
        pass_context=True,
    )
    def build_bulletin(context: JobContext, timestamp: int = 0, week: str | None = None) -> str:
        """Build, store (and e-mail) the bulletin of ``week``, or of the last week ended at
        ``timestamp`` (the periodic run's time) or now; its week."""
        now = datetime.fromtimestamp(timestamp, UTC) if timestamp else datetime.now(UTC)
        engine = open_engine(settings)
        wanted = bulletin.resolve_week(settings, week, now=now)
        built = bulletin.build(engine, settings, wanted)
        log.info("bulletin %s built (%d bytes, sha256 %s)", built.week, built.size, built.sha256)
        bulletin.email(engine, settings, built)
        return built.week
