"""The Open311 server over real HTTP (uvicorn in a thread) on the test PostGIS database."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import Engine

from geotranquil.config import Settings
from tests.api.conftest import api_keys  # noqa: F401
from tests.live_server import live_server

BASE = "/open311/v2"


@pytest.fixture(scope="session")
def o311_settings(settings: Settings) -> Settings:
    """The test settings with rate limits out of the way (their own test sets them low)."""
    return settings.model_copy(
        update={"open311_rate_client_per_minute": 6000.0, "open311_rate_client_burst": 1000}
    )


@pytest.fixture(scope="session")
def o311_url(o311_settings: Settings, loaded_engine: Engine) -> Iterator[str]:
    with live_server(o311_settings) as url:
        yield url


@pytest.fixture
def client(o311_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=o311_url, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
def keys(api_keys: dict[str, str]) -> dict[str, str]:  # noqa: F811
    """One live key per role (``public`` is no key): the API tests' keys."""
    return api_keys


def as_role(role: str, keys: dict[str, str]) -> dict[str, str]:
    return {} if role == "public" else {"X-API-Key": keys[role]}


class Places:
    """Distinct points inside Marseille, about 300 m apart, so tests never link each other's
    reports as duplicates by accident."""

    def __init__(self) -> None:
        self._n = 0
        self._lock = threading.Lock()

    def next(self) -> tuple[float, float]:
        with self._lock:
            self._n += 1
            n = self._n
        return round(5.365 + 0.004 * (n % 12), 6), round(43.285 + 0.003 * (n // 12), 6)


@pytest.fixture(scope="session")
def places() -> Places:
    return Places()


def file_report(
    client: httpx.Client,
    key: str,
    fmt: str = "json",
    files: dict[str, Any] | None = None,
    **fields: Any,
) -> httpx.Response:
    """POST a report (form fields, ``api_key`` in the body as Open311 clients send it)."""
    data = {"api_key": key, **{k: str(v) for k, v in fields.items()}}
    return client.post(f"{BASE}/requests.{fmt}", data=data, files=files)


def jpeg_with_gps(size: tuple[int, int] = (640, 480)) -> bytes:
    """A JPEG carrying a camera make and a GPS position in its EXIF."""
    image = Image.new("RGB", size, (180, 40, 40))
    for x in range(0, size[0], 20):  # some structure, so it is a plausible photo
        image.paste((20, 20, 200), (x, 0, x + 5, size[1]))
    exif = Image.Exif()
    exif[0x010F] = "MarqueSecreteXYZ"  # Make
    exif[0x0131] = "LogicielSecretXYZ"  # Software
    exif[0x8825] = {1: "N", 2: (43.0, 17.0, 42.5), 3: "E", 4: (5.0, 22.0, 11.25)}  # GPS IFD
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=90)
    return out.getvalue()
