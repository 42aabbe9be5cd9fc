"""HTTP servers for the serving benchmark: ours and tipg, each a ``uvicorn`` subprocess.

- :func:`geotranquil_app` is the ``uvicorn --factory`` entry point of our server: it builds
  ``create_app(Settings())`` from the ``GEOTRANQUIL_*`` environment of the process.
- :func:`ensure_tipg_venv` creates ``.venv-tipg`` at the repository root (``python3 -m venv``,
  then ``pip install tipg==TIPG_VERSION uvicorn``) when it is missing; tipg is never installed in
  the project's environment, whose pins may conflict with it.
- :class:`Server` starts one server on a free port, waits until it answers, reports the CPU
  time its process used (``/proc/PID/stat``), and stops it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import httpx

TIPG_VERSION = "1.6.1"
REPO_ROOT = Path(__file__).resolve().parent.parent
TIPG_VENV = REPO_ROOT / ".venv-tipg"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def geotranquil_app() -> Any:
    """Our application, configured from the environment (``uvicorn --factory`` target)."""
    from geotranquil.api.app import create_app
    from geotranquil.config import Settings

    return create_app(Settings())


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def tipg_installed(venv: Path = TIPG_VENV) -> bool:
    """Whether ``venv`` runs tipg at :data:`TIPG_VERSION` and has uvicorn."""
    python = venv / "bin" / "python"
    if not (python.is_file() and (venv / "bin" / "uvicorn").is_file()):
        return False
    done = subprocess.run(
        [str(python), "-c", "import tipg, uvicorn; print(tipg.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0 and done.stdout.strip() == TIPG_VERSION


def ensure_tipg_venv(venv: Path = TIPG_VENV) -> Path:
    """``venv`` with tipg and uvicorn, created if missing; its ``uvicorn`` executable.

    Idempotent: an existing environment with the right tipg is used as it is.
    """
    uvicorn = venv / "bin" / "uvicorn"
    if tipg_installed(venv):
        _log(f"tipg {TIPG_VERSION}: using {venv}")
        return uvicorn
    _log(
        f"tipg {TIPG_VERSION} not found in {venv}: creating it (python3 -m venv, then "
        f"pip install tipg=={TIPG_VERSION} uvicorn; about 10 to 60 s, PyPI needed)"
    )
    if not (venv / "bin" / "python").is_file():
        python3 = shutil.which("python3") or sys.executable
        subprocess.run([python3, "-m", "venv", str(venv)], check=True)
    done = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"tipg=={TIPG_VERSION}",
            "uvicorn",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not tipg_installed(venv):
        raise RuntimeError(
            f"could not install tipg {TIPG_VERSION} in {venv} (exit {done.returncode}):\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}\n"
            f"remove {venv} and try again, or install it by hand: "
            f"python3 -m venv {venv} && {venv}/bin/pip install tipg=={TIPG_VERSION} uvicorn"
        )
    _log(f"tipg {TIPG_VERSION} installed in {venv}")
    return uvicorn


def fresh_database(database_url: str) -> Any:
    """Drop the throw-away database ``database_url``, migrate it afresh and load the reference
    areas (reports need the commune outline); its engine, for the caller to dispose of."""
    from geotranquil.config import Settings
    from geotranquil.db import admin
    from geotranquil.db.engine import make_engine
    from geotranquil.services.database import upgrade_database
    from geotranquil.services.geography import load_areas

    settings = Settings(database_url=database_url)
    admin.drop_database(database_url)
    upgrade_database(settings)
    engine = make_engine(settings)
    try:
        load_areas(engine, settings.reference_dir)
    except BaseException:
        engine.dispose()
        raise
    return engine


def free_port() -> int:
    """A TCP port nobody listens on right now, on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, in seconds (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # after the ")" of comm: state is field 3, utime field 14, stime field 15 (1-based)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def terminate(process: subprocess.Popen[bytes] | None) -> None:
    """Stop ``process`` if it still runs: SIGTERM, and SIGKILL if it is not gone within 15 s."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


class Server:
    """One ``uvicorn`` server in a subprocess, on its own port (``--workers 1`` by default)."""

    def __init__(
        self,
        name: str,
        command: list[str],
        env: Mapping[str, str],
        port: int,
        ready_path: str,
        log_path: Path,
    ) -> None:
        self.name = name
        self.command = command
        self.env = dict(env)
        self.port = port
        self.ready_path = ready_path
        self.log_path = log_path
        self.base_url = f"http://127.0.0.1:{port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self, timeout: float = 120.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log_path.open("wb")
        self._process = subprocess.Popen(
            self.command,
            cwd=REPO_ROOT,
            env=self.env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        last = ""
        with httpx.Client(timeout=10) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} server exited with {self._process.returncode}:\n"
                        + self.log_tail()
                    )
                try:
                    response = client.get(self.base_url + self.ready_path)
                    if response.status_code == 200:
                        return
                    last = f"{response.status_code} {response.text[:300]}"
                except httpx.HTTPError as exc:
                    last = repr(exc)
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"{self.name} server not ready after {timeout:.0f} s ({last}):\n" + self.log_tail()
        )

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        process, self._process = self._process, None
        terminate(process)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def uvicorn_args(port: int, workers: int = 1) -> list[str]:
    """The options both servers run with: ``workers`` (1), asyncio loop, h11, no access log,
    no rewriting of the client address by uvicorn.

    ``workers`` > 1 runs that many worker processes under uvicorn's supervisor (the
    :class:`Server`'s process): their CPU time is not in :meth:`Server.cpu_seconds`.
    """
    return [
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "asyncio",
        "--http",
        "h11",
        "--no-access-log",
        "--no-proxy-headers",  # ours reads them itself, from GEOTRANQUIL_TRUSTED_PROXIES only
        "--log-level",
        "warning",
    ]


def ours_server(
    name: str,
    database_url: str,
    log_dir: Path,
    extra_env: Mapping[str, str] | None = None,
    workers: int = 1,
) -> Server:
    """Our server (``create_app``) for ``database_url``, run by the project's interpreter."""
    port = free_port()
    env = {
        **os.environ,
        "GEOTRANQUIL_DATABASE_URL": database_url,
        **(extra_env or {}),
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "benchmarks._servers:geotranquil_app",
        *uvicorn_args(port, workers),
    ]
    return Server(name, command, env, port, "/health", log_dir / f"{name}.log")


def tipg_server(
    name: str,
    uvicorn: Path,
    database_dsn: str,
    tables: Iterable[str],
    log_dir: Path,
    extra_env: Mapping[str, str] | None = None,
) -> Server:
    """tipg (``tipg.main:app``) on ``database_dsn`` (a TCP ``postgresql://`` URL).

    ``tables`` (``schema.name``) are the only collections it exposes.
    """
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TIPG_", "DATABASE_URL", "POSTGRES_", "VIRTUAL_ENV"))
    }
    env.update(
        {
            "DATABASE_URL": database_dsn,
            "TIPG_DB_SCHEMAS": '["public"]',
            "TIPG_DB_TABLES": "[" + ",".join(f'"{t}"' for t in tables) + "]",
            **(extra_env or {}),
        }
    )
    command = [str(uvicorn), "tipg.main:app", *uvicorn_args(port)]
    return Server(name, command, env, port, "/healthz", log_dir / f"{name}.log")
