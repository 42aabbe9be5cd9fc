"""nginx in front of N of our uvicorn workers, on this machine, for the tests and benchmarks.

:class:`Nginx` writes its own ``nginx.conf`` in a folder of its own (pid, logs, temp files
there too), listens on a free loopback port and runs ``nginx -p DIR -e DIR/error.log -g
'daemon off;'`` as a child process; it proxies round robin to the workers (one nginx worker
process, so the order is strict) and sets ``X-Forwarded-For`` as a production proxy does.
:func:`workers_behind_nginx` starts N :func:`benchmarks._servers.ours_server` processes (one
uvicorn worker each, so each has its own port and its own memory) and nginx before them.
nginx is Debian's package ``nginx`` (``scripts/setup.sh`` installs it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

from benchmarks import _servers

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONF = """\
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 20m;
    upstream geotranquil {{
{servers}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://geotranquil;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_max_temp_file_size 0;
            proxy_read_timeout 300s;
        }}
    }}
}}
"""


class Nginx:
    """nginx on a free loopback port, proxying round robin to ``upstreams`` (``host:port``)."""

    def __init__(self, upstreams: Sequence[str], directory: Path) -> None:
        self.upstreams = list(upstreams)
        self.directory = directory
        self.port = _servers.free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def config(self) -> str:
        servers = "\n".join(f"        server {u};" for u in self.upstreams)
        # as root, the worker would become "nobody" and could not use our temporary folder
        user = "user root;\n" if os.geteuid() == 0 else ""
        return CONF.format(user=user, dir=self.directory, servers=servers, port=self.port)

    def start(self, timeout: float = 30.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "nginx.conf"
        conf.write_text(self.config(), encoding="utf-8")
        log = (self.directory / "stderr.log").open("wb")
        self._process = subprocess.Popen(
            [
                NGINX,
                "-p",
                str(self.directory),
                "-e",
                str(self.directory / "error.log"),
                "-c",
                str(conf),
                "-g",
                "daemon off;",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise RuntimeError(f"nginx exited: {self.log_tail()}")
                try:
                    if client.get(self.base_url + "/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nginx not ready after {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, chars: int = 2000) -> str:
        text = ""
        for name in ("stderr.log", "error.log"):
            path = self.directory / name
            if path.is_file():
                text += path.read_text(encoding="utf-8", errors="replace")[-chars:]
        return text

    def stop(self) -> None:
        process, self._process = self._process, None
        _servers.terminate(process)


class Front:
    """N workers behind nginx, seen as one server (``base_url``, CPU of the workers)."""

    def __init__(self, nginx: Nginx, workers: Sequence[_servers.Server]) -> None:
        self.nginx = nginx
        self.workers = list(workers)
        self.base_url = nginx.base_url
        self.name = f"{len(workers)}w"

    def cpu_seconds(self) -> float:
        return sum(w.cpu_seconds() for w in self.workers)


@contextmanager
def workers_behind_nginx(
    count: int,
    database_url: str,
    directory: Path,
    env: Mapping[str, str] | None = None,
    name: str = "worker",
) -> Iterator[Front]:
    """``count`` uvicorn processes of our application on ``database_url`` behind nginx.

    ``env`` adds settings (``GEOTRANQUIL_*``) to every worker; nginx (127.0.0.1) is their
    trusted proxy unless ``env`` says otherwise.
    """
    settings = {"GEOTRANQUIL_TRUSTED_PROXIES": "127.0.0.1", **(env or {})}
    workers = [
        _servers.ours_server(f"{name}{i}", database_url, directory, settings) for i in range(count)
    ]
    nginx = Nginx([f"127.0.0.1:{w.port}" for w in workers], directory / f"nginx-{name}")
    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            list(pool.map(lambda w: w.start(), workers))
        nginx.start()
        yield Front(nginx, workers)
    finally:
        nginx.stop()
        for worker in workers:
            worker.stop()
