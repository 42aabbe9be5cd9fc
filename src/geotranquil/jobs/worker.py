"""Running a worker: the queue's jobs, until SIGINT or SIGTERM (which let the current job end)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from geotranquil.config import Settings
from geotranquil.jobs.app import build_app
from geotranquil.jobs.common import requeue_stalled


def run_worker(
    settings: Settings, *, queues: Iterable[str] | None = None, wait: bool = True
) -> None:
    """Run the jobs of ``queues`` (all by default); with ``wait=False``, stop once the queue
    holds nothing to do now. First, jobs left running by dead workers are queued again."""
    app = build_app(settings)

    async def main() -> None:
        async with app.open_async():
            await requeue_stalled(app, settings)
            if queues is None:
                await app.run_worker_async(wait=wait)
            else:
                await app.run_worker_async(queues=list(queues), wait=wait)

    asyncio.run(main())
