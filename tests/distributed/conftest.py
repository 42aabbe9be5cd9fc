"""A real Dask cluster for the tests: ``dask scheduler`` and two ``dask worker`` processes.

The scheduler listens on a free port of 127.0.0.1 (``--port 0``, its address read from its
scheduler file); each worker has one thread and imports this checkout's ``geotranquil``
(``PYTHONPATH``). The fixture waits until a client sees both workers and stops the three
processes at the end (SIGTERM, then SIGKILL). The tier has its own database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import database_tier
from tests.workers import REPO, wait_for

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


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _address(scheduler_file: Path) -> str | None:
    """The scheduler's address once its file is written whole."""
    try:
        return str(json.loads(scheduler_file.read_text())["address"])
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    from distributed import Client

    tmp = tmp_path_factory.mktemp("dask")
    env = _env(tmp)
    scheduler_file = tmp / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (tmp / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [*dask, *args], env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT
        )
        procs.append(proc)
        return proc

    try:
        start(
            "scheduler",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        )
        address = str(wait_for(lambda: _address(scheduler_file), "the scheduler", timeout=120))
        workers = [
            start(
                f"worker-{i}",
                "worker",
                address,
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--no-dashboard",
                "--name",
                f"test-worker-{i}",
                "--local-directory",
                str(tmp / f"worker-{i}"),
            )
            for i in range(2)
        ]
        client = Client(address, timeout=60, set_as_default=False)
        try:
            client.wait_for_workers(2, timeout=180)
            assert len(client.scheduler_info()["workers"]) == 2
            yield DaskCluster(address, client, workers)
        finally:
            client.close()
    finally:
        _stop(procs[1:])  # the workers first, then the scheduler
        _stop(procs[:1])
