"""A real Dask cluster for the tests: ``dask scheduler`` and two ``dask worker`` processes.

The scheduler listens on a free port of 127.0.0.1 (``--port 0``, its address read from its
scheduler file); each worker has one thread and imports this checkout's ``geotranquil``
(``PYTHONPATH``). The fixture waits until a client sees both workers and stops the three
processes at the end (SIGTERM, then SIGKILL): the processes are those of the benchmark
:mod:`benchmarks.emerging_dask`. The tier has its own database.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from benchmarks.emerging_dask import local_processes, start_scheduler, worker_args

from tests.conftest import database_tier
from tests.workers import REPO

settings, engine, loaded_engine = database_tier("distributed")


@dataclass(frozen=True)
class DaskCluster:
    """The test cluster: its scheduler's address and a client connected to it."""

    address: str
    client: Any
    workers: list[subprocess.Popen[bytes]]


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOTRANQUIL_")}
    return env | {
        "PYTHONPATH": str(REPO / "src"),
        "NUMBA_CACHE_DIR": str(tmp / "numba"),
    }


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    from distributed import Client

    tmp = tmp_path_factory.mktemp("dask")
    with local_processes(tmp, _env(tmp)) as start:
        address = start_scheduler(start, tmp)
        workers = [
            start(f"worker-{i}", *worker_args(address, f"test-worker-{i}", tmp / f"worker-{i}"))
            for i in range(2)
        ]
        client = Client(address, timeout=60, set_as_default=False)
        try:
            client.wait_for_workers(2, timeout=180)
            assert len(client.scheduler_info()["workers"]) == 2
            yield DaskCluster(address, client, workers)
        finally:
            client.close()
