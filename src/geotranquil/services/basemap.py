"""The optional base map under the maps: which one the pages may use right now.

A page that asked the browser for an unreachable base map would log errors and draw nothing
more; so the server answers for it: before the pages' settings name a base map, the server
checks, with a short timeout, that it answers (the style document, or one raster tile over the
city), and keeps that answer for a minute. Offline, the pages get no base map and draw their
own view: the platform's outlines and the BAN's street names.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import httpx

from geotranquil.config import Settings

#: how long an answer (reachable or not) is kept, in seconds
KEEP_S = 60.0
#: the raster tile asked for when checking a template: the one over Marseille at this zoom
PROBE_ZOOM = 12
MARSEILLE = (5.3811, 43.2965)


@dataclass(frozen=True)
class Basemap:
    """What the pages' settings say of the base map: a style URL, or a raster template, or
    neither (the offline view)."""

    style_url: str | None
    raster_url: str | None
    attribution: str

    def as_config(self) -> dict[str, str | None]:
        return {
            "basemap_style_url": self.style_url,
            "basemap_url": self.raster_url,
            "basemap_attribution": self.attribution,
        }


def raster_probe_url(template: str, lon: float = MARSEILLE[0], lat: float = MARSEILLE[1]) -> str:
    """The URL of the template's tile over (``lon``, ``lat``) at :data:`PROBE_ZOOM`.

    Examples
    --------
    >>> raster_probe_url("https://{s}.tile.example.org/{z}/{x}/{y}.png")
    'https://a.tile.example.org/12/2109/1500.png'
    """
    n = 2**PROBE_ZOOM
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return (
        template.replace("{s}", "a")
        .replace("{z}", str(PROBE_ZOOM))
        .replace("{x}", str(x))
        .replace("{y}", str(y))
    )


def _answers(url: str, timeout_s: float, *, style: bool) -> bool:
    try:
        response = httpx.get(url, timeout=timeout_s, follow_redirects=True)
    except (httpx.HTTPError, ValueError):
        return False
    if response.status_code != 200:
        return False
    if not style:
        return response.headers.get("content-type", "").startswith("image/")
    try:
        doc = response.json()
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("version") == 8 and isinstance(doc.get("layers"), list)


class BasemapChecker:
    """Checks the configured base map, at most once a minute per URL (thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._known: dict[str, tuple[float, bool]] = {}

    def _reachable(self, url: str, *, style: bool) -> bool:
        now = time.monotonic()
        with self._lock:
            known = self._known.get(url)
        if known is not None and now - known[0] < KEEP_S:
            return known[1]
        probe = url if style else raster_probe_url(url)
        ok = _answers(probe, self._settings.web_basemap_probe_s, style=style)
        with self._lock:
            self._known[url] = (time.monotonic(), ok)
        return ok

    def current(self) -> Basemap:
        """The base map the pages may use now (the style first, then the raster)."""
        s = self._settings
        if s.web_basemap_style_url and self._reachable(s.web_basemap_style_url, style=True):
            return Basemap(s.web_basemap_style_url, None, s.web_basemap_attribution)
        if s.web_basemap_url and self._reachable(s.web_basemap_url, style=False):
            return Basemap(None, s.web_basemap_url, s.web_basemap_attribution)
        return Basemap(None, None, s.web_basemap_attribution)
