"""The base map under both maps (issue 15 §8), in headless Chromium.

- Offline (the default): the BAN's street names are written along their addresses from zoom
  15, with glyphs from our own server.
- Online: a MapLibre style URL or a raster template, served here by a tiny HTTP server standing
  for the IGN Géoplateforme, is drawn under our layers.
- Unreachable: the pages show the offline view, with no console error and no request to the
  unreachable server.

Each case runs on the analysts' map (``/carte``) and the residents' pin map (``/habitants/``).
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine

from geotranquil.config import Settings
from tests.live_server import free_port, live_server
from tests.streets_helpers import Street, longest_street

#: the colour of the fake base map's tiles (a pale green no layer of ours uses)
TILE_RGB = (200, 230, 201)
PAGES = ("carte", "habitants")


def _png(rgb: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), rgb).save(out, format="PNG")
    return out.getvalue()


@dataclass
class FakeBasemap:
    """A style and raster tiles on a local port, as the Géoplateforme would serve them."""

    base: str
    paths: list[str] = field(default_factory=list)

    @property
    def style_url(self) -> str:
        return f"{self.base}/styles/plan.json"

    @property
    def raster_url(self) -> str:
        return f"{self.base}/tuiles/{{z}}/{{x}}/{{y}}.png"


@pytest.fixture(scope="module")
def fake_basemap() -> Iterator[FakeBasemap]:
    tile = _png(TILE_RGB)
    found = FakeBasemap("")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            found.paths.append(self.path)
            if self.path == "/styles/plan.json":
                style = {
                    "version": 8,
                    "name": "Plan de test",
                    "sources": {
                        "plan": {
                            "type": "raster",
                            "tiles": [found.raster_url],
                            "tileSize": 256,
                            "attribution": "Plan de test",
                        }
                    },
                    "layers": [
                        {"id": "fond", "type": "background", "paint": {"background-color": "#fff"}},
                        {"id": "plan", "type": "raster", "source": "plan"},
                    ],
                }
                body, kind = json.dumps(style).encode(), "application/json"
            elif self.path.startswith("/tuiles/") and self.path.endswith(".png"):
                body, kind = tile, "image/png"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    thread.join(timeout=10)


@dataclass
class Opened:
    page: Page
    errors: list[str]
    requests: list[str]

    def fond(self, page_name: str) -> str:
        return str(self.page.evaluate(f"{_MAP[page_name]}.getStyle().metadata['geotranquil:fond']"))


_MAP = {"carte": "window.carte.map", "habitants": "window.habitants.app.map"}
_CANVAS = {"carte": "#carte canvas", "habitants": "#carte-signaler canvas"}


@contextmanager
def _open(browser: Browser, base: str, page_name: str, street: Street) -> Iterator[Opened]:
    """The page, its map moved to zoom 16 over ``street`` and drawn."""
    context = browser.new_context(
        viewport={"width": 1000, "height": 700}, locale="fr-FR", timezone_id="Europe/Paris"
    )
    page = context.new_page()
    opened = Opened(page, [], [])
    page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: opened.errors.append(f"page error: {e}"))
    page.on("request", lambda r: opened.requests.append(r.url))
    if page_name == "carte":
        page.goto(f"{base}/carte#zoom=16&centre={street.lon},{street.lat}")
        page.wait_for_selector("body[data-carte=inactive]", timeout=60_000)
    else:
        page.goto(f"{base}/habitants/")
        page.wait_for_selector("body[data-app=pret]", timeout=60_000)
        page.evaluate(
            "([lon, lat]) => window.habitants.app.map.jumpTo({ center: [lon, lat], zoom: 16 })",
            [street.lon, street.lat],
        )
    # drawn: every tile of the view loaded and placed (MapLibre's own "idle" state)
    page.wait_for_function(
        f"() => {_MAP[page_name]}.loaded() && {_MAP[page_name]}.areTilesLoaded()",
        timeout=60_000,
    )
    page.evaluate(f"new Promise((ok) => {_MAP[page_name]}.once('idle', ok).triggerRepaint())")
    try:
        yield opened
    finally:
        context.close()


def _served(settings: Settings, **update: Any) -> Iterator[str]:
    with live_server(settings.model_copy(update=update)) as url:
        yield url


@pytest.fixture(scope="module")
def street(ban: pd.DataFrame) -> Street:
    return longest_street(ban)


@pytest.fixture(scope="module")
def offline_url(settings: Settings, loaded_engine: Engine) -> Iterator[str]:
    yield from _served(settings)


@pytest.fixture(scope="module")
def style_url(
    settings: Settings, loaded_engine: Engine, fake_basemap: FakeBasemap
) -> Iterator[str]:
    yield from _served(settings, web_basemap_style_url=fake_basemap.style_url)


@pytest.fixture(scope="module")
def raster_url(
    settings: Settings, loaded_engine: Engine, fake_basemap: FakeBasemap
) -> Iterator[str]:
    yield from _served(settings, web_basemap_url=fake_basemap.raster_url)


@pytest.fixture(scope="module")
def dead_base() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


@pytest.fixture(scope="module")
def unreachable_url(settings: Settings, loaded_engine: Engine, dead_base: str) -> Iterator[str]:
    yield from _served(
        settings,
        web_basemap_style_url=f"{dead_base}/styles/plan.json",
        web_basemap_url=f"{dead_base}/tuiles/{{z}}/{{x}}/{{y}}.png",
    )


def _street_names(opened: Opened, page_name: str) -> set[str]:
    names = opened.page.evaluate(
        f"{_MAP[page_name]}.queryRenderedFeatures({{ layers: ['rues'] }})"
        ".map((f) => f.properties.name)"
    )
    return set(names)


def _share_of_tile_colour(page: Page, page_name: str) -> float:
    shot = page.locator(_CANVAS[page_name]).screenshot()
    image = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"))
    close = np.abs(image.astype(int) - np.array(TILE_RGB)).max(axis=2) <= 3
    return float(close.mean())


@pytest.mark.parametrize("page_name", PAGES)
def test_offline_the_streets_names_are_written_along_them(
    browser: Browser, offline_url: str, street: Street, page_name: str, artifacts: Any
) -> None:
    with _open(browser, offline_url, page_name, street) as opened:
        assert opened.fond(page_name) == "hors-ligne"
        assert street.name in _street_names(opened, page_name)
        assert any("/carte/glyphs/" in u and u.endswith("/0-255.pbf") for u in opened.requests)
        assert all(u.startswith((offline_url, "data:", "blob:")) for u in opened.requests)
        opened.page.locator(_CANVAS[page_name]).screenshot(
            path=str(artifacts / f"fond-rues-{page_name}.png")
        )
        assert opened.errors == []
        # below zoom 15 the names are not drawn
        opened.page.evaluate(
            f"new Promise((ok) => {{ {_MAP[page_name]}.once('idle', ok); "
            f"{_MAP[page_name]}.jumpTo({{ zoom: 14 }}); }})"
        )
        assert _street_names(opened, page_name) == set()


@pytest.mark.parametrize("page_name", PAGES)
def test_a_style_url_draws_the_online_base_map_under_our_layers(
    browser: Browser,
    style_url: str,
    fake_basemap: FakeBasemap,
    street: Street,
    page_name: str,
    artifacts: Any,
) -> None:
    with _open(browser, style_url, page_name, street) as opened:
        assert opened.fond(page_name) == "style"
        layers = opened.page.evaluate(f"{_MAP[page_name]}.getStyle().layers.map((l) => l.id)")
        # the style's layers first (renamed), then our outlines; its names replace ours
        assert layers[:2] == ["plan-fond", "plan-plan"]
        assert layers.index("commune-limite") > 1 and "rues" not in layers
        assert fake_basemap.style_url in opened.requests
        assert any(u.startswith(f"{fake_basemap.base}/tuiles/") for u in opened.requests)
        assert _share_of_tile_colour(opened.page, page_name) > 0.2
        opened.page.locator(_CANVAS[page_name]).screenshot(
            path=str(artifacts / f"fond-style-{page_name}.png")
        )
        assert opened.errors == []


@pytest.mark.parametrize("page_name", PAGES)
def test_a_raster_template_draws_the_online_base_map(
    browser: Browser,
    raster_url: str,
    fake_basemap: FakeBasemap,
    street: Street,
    page_name: str,
) -> None:
    with _open(browser, raster_url, page_name, street) as opened:
        assert opened.fond(page_name) == "raster"
        assert any(u.startswith(f"{fake_basemap.base}/tuiles/") for u in opened.requests)
        assert fake_basemap.style_url not in opened.requests
        if page_name == "habitants":  # the analysts' map draws it at 70 %, under its hexagons
            assert _share_of_tile_colour(opened.page, page_name) > 0.2
        layers = opened.page.evaluate(f"{_MAP[page_name]}.getStyle().layers.map((l) => l.id)")
        assert "raster" in layers and "rues" not in layers  # the raster has its own names
        assert opened.errors == []


@pytest.mark.parametrize("page_name", PAGES)
def test_an_unreachable_base_map_leaves_the_offline_view_without_errors(
    browser: Browser, unreachable_url: str, dead_base: str, street: Street, page_name: str
) -> None:
    with _open(browser, unreachable_url, page_name, street) as opened:
        assert opened.fond(page_name) == "hors-ligne"
        assert street.name in _street_names(opened, page_name)
        assert not [u for u in opened.requests if u.startswith(dead_base)]
        assert opened.errors == []
