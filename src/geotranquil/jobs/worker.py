"""Running a worker: the queue's jobs, until SIGINT or SIGTERM (which let the current job end)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from geotranquil.config import Settings
from geotranquil.jobs.app import build_app
from geotranquil.jobs.tasks import requeue_stalled

log = logging.getLogger(__name__)


def run_worker(
    settings: Settings, *, queues: Iterable[str] | None = None, wait: bool = True
) -> None:
    """Run the jobs of ``queues`` (all by default); with ``wait=False``, stop once the queue
    holds nothing to do now. First, jobs left running by dead workers are queued again."""
    app = build_app(settings)

    async def main() -> None:
        async with app.open_async():
            requeued = await requeue_stalled(app, settings)
            if requeued:
                log.info("requeued jobs of dead workers: %s", requeued)
            if queues is None:
                await app.run_worker_async(wait=wait)
            else:
                await app.run_worker_async(queues=list(queues), wait=wait)

    asyncio.run(main())
