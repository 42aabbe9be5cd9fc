"""``geotranquil serve`` run for real: its access log keeps the parameter names but masks their
values, so neither an API key (``?api_key=``) nor an address a resident typed (``/geocode?q=``)
is written; no other line carries a key either."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from geotranquil.config import Settings
from tests.api.served import Served
from tests.live_server import free_port

REPO = Path(__file__).resolve().parents[2]


def test_serve_access_log_masks_query_values(
    settings: Settings,
    loaded_engine: Engine,
    served: Served,
    api_keys: dict[str, str],
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "GEOTRANQUIL_DATABASE_URL": settings.database_url,
        "GEOTRANQUIL_HOST": "127.0.0.1",
        "GEOTRANQUIL_PORT": str(port),
        "GEOTRANQUIL_LOG_LEVEL": "info",
    }
    log = tmp_path / "serve.log"
    unknown = "gtq_UnknownKeyThatIsNotInTheDatabase0123456789"
    address = "12 rue de Rome"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "geotranquil.cli.main", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 90
            while True:  # wait for the server to answer, however busy the machine
                try:
                    if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None, log.read_text("utf-8")
                assert time.monotonic() < deadline, "geotranquil serve did not start"
                time.sleep(0.2)
            with httpx.Client(base_url=base, timeout=30) as http:
                ok = http.get(
                    "/collections/events/items", params={"api_key": api_keys["analyst"], "limit": 1}
                )
                assert ok.status_code == 200
                assert (
                    http.get("/collections/grid-r8/items", params={"api_key": unknown}).status_code
                    == 401
                )
                http.get("/geocode", params={"q": address})
                http.get("/health", headers={"X-API-Key": api_keys["admin"]})
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
    written = log.read_text("utf-8")
    assert '"GET /collections/events/items?api_key=***&limit=*** HTTP/1.1" 200' in written
    assert '"GET /collections/grid-r8/items?api_key=*** HTTP/1.1" 401' in written
    assert '"GET /geocode?q=*** HTTP/1.1"' in written
    assert '"GET /health HTTP/1.1" 200' in written
    for secret in (*api_keys.values(), unknown, "rue+de+Rome", "rue%20de%20Rome", address):
        assert secret not in written
    assert "gtq_" not in written


def test_the_access_log_is_a_setting_off_in_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15 §6: GEOTRANQUIL_ACCESS_LOG, on by default (production), off in the demo unless
    it is set; query values stay masked whenever it is on."""
    from geotranquil.cli.serve import quiet_unless_set, server_config

    monkeypatch.delenv("GEOTRANQUIL_ACCESS_LOG", raising=False)
    production = Settings()
    assert production.access_log is True
    config = server_config(production)
    assert config.access_log is True and config.proxy_headers is False
    assert config.log_config["loggers"]["uvicorn.access"]["filters"] == ["mask_queries"]
    assert server_config(quiet_unless_set(production)).access_log is False
    monkeypatch.setenv("GEOTRANQUIL_ACCESS_LOG", "true")
    assert quiet_unless_set(Settings()).access_log is True
    monkeypatch.setenv("GEOTRANQUIL_ACCESS_LOG", "false")
    assert server_config(Settings()).access_log is False
