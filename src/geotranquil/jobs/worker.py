"""Running a worker: the queue's jobs, until SIGINT or SIGTERM (which let the current job end).

Every worker also watches for the jobs of dead workers, whatever queues it runs: at start, then
every half ``jobs_stalled_after_s``. Leaving it to a periodic job would leave a worker that runs
only some queues (``--queue analyses``) blind to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
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
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: the worker command, a script
        asyncio.run(_work(app, settings, queues, wait, signals=True))
        return
    # an event loop already runs in this thread (a notebook, a synchronous Playwright session):
    # the worker gets a thread and a loop of its own (signals are the main thread's)
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(_work(app, settings, queues, wait, signals=False))
        except BaseException as exc:  # handed back to the caller
            failure.append(exc)

    thread = threading.Thread(target=target, name="geotranquil-worker")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


async def _work(
    app: procrastinate.App,
    settings: Settings,
    queues: Iterable[str] | None,
    wait: bool,
    *,
    signals: bool,
) -> None:
    async with app.open_async():
        await requeue_stalled(app, settings)
        watcher = asyncio.create_task(watch_stalled(app, settings))
        try:
            if queues is None:
                await app.run_worker_async(wait=wait, install_signal_handlers=signals)
            else:
                await app.run_worker_async(
                    queues=list(queues), wait=wait, install_signal_handlers=signals
                )
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
