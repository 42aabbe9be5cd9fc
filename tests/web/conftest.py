"""The web map in headless Chromium (Debian's ``chromium``, driven by Playwright).

The server is the API tests' real one (uvicorn on a free port, the served data set with its
planted hot spot); a naive forecast is stored so that the forecast layer and ranks exist.
Every page records its console errors and every response it received; screenshots of the main
views are written to ``var/test-artifacts/web/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Response
from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.services.forecasting import ForecastSummary, compute_forecast
from tests.api.conftest import api_keys, http, served, served_session, server_url  # noqa: F401
from tests.api.served import Served
from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: F401  (the fixtures: tests/conftest.py)

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "web"
VIEWPORT = {"width": 1440, "height": 900}


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def forecast(served: Served, loaded_engine: Engine, settings: Settings) -> int:  # noqa: F811
    """A naive forecast of the served data, stored now so that it is the latest run (other
    tests leave runs of other data in the same database)."""
    summary: ForecastSummary = compute_forecast(
        loaded_engine, settings, method="naive", resolution=9
    )
    return summary.run_id


@dataclass
class Visit:
    """A page with what it logged and received."""

    page: Page
    base: str
    console_errors: list[str] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def open(self, fragment: str = "", key: str | None = None) -> None:
        """Open the map (signed in with ``key``) and wait until it is drawn."""
        if key:  # signed in: the key is in the page's session storage before it runs
            self.page.add_init_script(
                "if (location.protocol.startsWith('http')) "
                f"sessionStorage.setItem('geotranquil.cle', {json.dumps(key)})"
            )
        self.page.goto(f"{self.base}/carte{fragment}")
        self.wait_idle()

    def wait_idle(self) -> None:
        self.page.wait_for_selector("body[data-carte=inactive]", timeout=30_000)

    def change(self, action: Any) -> None:
        """Do ``action`` and wait until the map has redrawn."""
        self.page.evaluate("document.body.dataset.carte = 'attente'")
        action()
        self.wait_idle()

    def tile_requests(self, layer: str) -> list[str]:
        return [u for u in self.requests if f"/tiles/{layer}/" in u]


@pytest.fixture
def visit(
    browser: Browser,
    server_url: str,  # noqa: F811
    served: Served,  # noqa: F811
    forecast: int,
) -> Iterator[Visit]:
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, locale="fr-FR")
    page = context.new_page()
    found = Visit(page, server_url)
    page.on("console", lambda m: found.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: found.console_errors.append(f"page error: {e}"))
    page.on("request", lambda r: found.requests.append(r.url))
    page.on("response", lambda r: found.responses.append(r))
    yield found
    context.close()
