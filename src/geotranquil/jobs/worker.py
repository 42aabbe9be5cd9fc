"""Running a worker: the queue's jobs, until SIGINT or SIGTERM (which let the current job end).

Every worker also watches for the jobs of dead workers, whatever queues it runs: at start, then
every half ``jobs_stalled_after_s``. Leaving it to a periodic job would leave a worker that runs
only some queues (``--queue analyses``) blind to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

import procrastinate

from geotranquil.config import Settings
from geotranquil.jobs.app import build_app
from geotranquil.jobs.common import requeue_stalled

log = logging.getLogger(__name__)


async def watch_stalled(app: procrastinate.App, settings: Settings) -> None:
    """Queue again the jobs of dead workers every half ``jobs_stalled_after_s``, for ever."""
    while True:
        await asyncio.sleep(settings.jobs_stalled_after_s / 2)
        try:
            await requeue_stalled(app, settings)
        except Exception:  # a lost connection: the next round tries again
            log.exception("looking for the jobs of dead workers failed")


def run_worker(
    settings: Settings, *, queues: Iterable[str] | None = None, wait: bool = True
) -> None:
    """Run the jobs of ``queues`` (all by default); with ``wait=False``, stop once the queue
    holds nothing to do now. First, jobs left running by dead workers are queued again."""
    app = build_app(settings)

    async def main() -> None:
        async with app.open_async():
            await requeue_stalled(app, settings)
            watcher = asyncio.create_task(watch_stalled(app, settings))
            try:
                if queues is None:
                    await app.run_worker_async(wait=wait)
                else:
                    await app.run_worker_async(queues=list(queues), wait=wait)
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    asyncio.run(main())
