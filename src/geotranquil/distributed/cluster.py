"""The Dask client: the one place that connects to a cluster, with French errors.

``distributed`` is imported here lazily, so the rest of the platform runs without a cluster.
Workers must be able to import ``geotranquil`` (the same version as the driver): the tasks
are functions of :mod:`geotranquil.distributed` and :mod:`geotranquil.stats`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from geotranquil.distributed.partition import DEFAULT_PARENT_RESOLUTION
from geotranquil.errors import NotReady

__all__ = ["ClusterOptions", "ClusterUnavailable", "TaskProgress", "cluster_client", "run_tasks"]

#: payloads sent to the workers per round trip
SCATTER_BATCH = 16
#: ``progress(done, total)`` after each task
TaskProgress = Callable[[int, int], None]


class ClusterUnavailable(NotReady):
    """The Dask cluster does not answer, or has no worker."""


@dataclass(frozen=True)
class ClusterOptions:
    """Where the cluster is and how to split the work.

    ``address``: the scheduler (``tcp://HOST:8786``); ``parent_resolution``: H3 resolution of
    the partitions' parents; ``timeout_s``: how long to wait for the scheduler, then for a
    first worker.
    """

    address: str
    parent_resolution: int = DEFAULT_PARENT_RESOLUTION
    timeout_s: float = 10.0


@contextmanager
def cluster_client(options: ClusterOptions) -> Iterator[Any]:
    """A ``distributed.Client`` on ``options.address`` with at least one worker; closed after.

    Raises :class:`ClusterUnavailable` (a French message, no traceback in the CLI) when the
    scheduler does not answer within ``timeout_s`` or no worker joins it in that time.
    """
    from distributed import Client

    address = options.address
    try:
        client = Client(address, timeout=options.timeout_s, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterUnavailable(
            f"le cluster Dask {address} ne répond pas ({type(exc).__name__}) : vérifiez "
            "l'adresse (--cluster tcp://HÔTE:8786) et que « dask scheduler » y tourne"
        ) from None
    try:
        try:
            client.wait_for_workers(1, timeout=options.timeout_s)
        except (OSError, TimeoutError) as exc:
            raise ClusterUnavailable(
                f"le cluster Dask {address} n'a aucun worker après {options.timeout_s:g} s "
                f"({type(exc).__name__}) : lancez « dask worker {address} »"
            ) from None
        yield client
    finally:
        client.close()


def run_tasks(
    client: Any,
    func: Callable[..., Any],
    payloads: Sequence[Any] | Iterator[Any],
    shared: Any,
    progress: TaskProgress | None = None,
    total: int | None = None,
) -> list[Any]:
    """``func(payload, shared)`` for every payload on the cluster; results in payload order.

    ``shared`` (the global quantities) is sent once to every worker; each payload (a
    partition's slice) is sent to the worker that runs its task. ``progress(done, total)``
    is called as tasks finish.
    """
    from distributed import as_completed

    shared_f = client.scatter(shared, broadcast=True, hash=False)
    futures: list[Any] = []
    batch: list[Any] = []

    def submit() -> None:  # a few payloads per round trip; the driver keeps none of them
        for data_f in client.scatter(batch, hash=False):
            futures.append(client.submit(func, data_f, shared_f, pure=False))
        batch.clear()

    for payload in payloads:
        batch.append(payload)
        if len(batch) == SCATTER_BATCH:
            submit()
    if batch:
        submit()
    n = total if total is not None else len(futures)
    results: dict[int, Any] = {}
    index = {f.key: i for i, f in enumerate(futures)}
    for done, future in enumerate(as_completed(futures, loop=client.loop), start=1):
        results[index[future.key]] = future.result()
        future.release()
        if progress is not None:
            progress(done, n)
    return [results[i] for i in range(len(futures))]
