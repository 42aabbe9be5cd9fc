"""Real ``geotranquil worker`` processes for the tests: their environment, starting them, and
waiting for what they do (conditions, never fixed times)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from geotranquil.config import Settings

REPO = Path(__file__).resolve().parents[1]

StartWorker = Callable[..., subprocess.Popen[bytes]]


def wait_for(condition: Callable[[], object], what: str, timeout: float = 120) -> object:
    """Poll ``condition`` until it returns something true (its value); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a worker on ``settings``' database and data folder: this process's
    environment without its ``GEOTRANQUIL_*`` settings (the shared data folder kept), then
    ``extra`` settings by their variable names."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GEOTRANQUIL_") or k == "GEOTRANQUIL_SHARED_DIR"
    }
    return env | {
        "PYTHONPATH": str(REPO / "src"),
        "GEOTRANQUIL_DATABASE_URL": settings.database_url,
        "GEOTRANQUIL_DATA_DIR": str(settings.data_dir),
        "GEOTRANQUIL_LOG_LEVEL": "info",
        **(
            {"GEOTRANQUIL_REFERENCE_DIR": str(settings.reference_dir)}
            if settings.reference_dir
            else {}
        ),
        **extra,
    }


@contextmanager
def worker_processes(log_dir: Path) -> Iterator[StartWorker]:
    """``start(env, *args)`` runs ``geotranquil worker *args`` with ``env``, its log in
    ``log_dir``; the workers still running at the end are stopped (SIGTERM, then SIGKILL)."""
    started: list[subprocess.Popen[bytes]] = []

    def start(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
        log = (log_dir / f"worker-{len(started)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "geotranquil.cli.main", "worker", *args],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
