"""Security headers: a Content-Security-Policy on our pages, nosniff and a referrer policy on all.

Pages are ``/carte``, ``/habitants/`` and ``/traitement`` and their files. Their policy allows
only our own origin, plus what MapLibre GL JS needs (its worker is created from a ``blob:``
URL; images may be ``data:`` or ``blob:``) and the origins of the optional base maps (the raster
template ``GEOTRANQUIL_WEB_BASEMAP_URL``, the style ``GEOTRANQUIL_WEB_BASEMAP_STYLE_URL``, whose
tiles, glyphs and sprites must be on the same origin); no inline script, no framing
(``frame-ancestors 'none'``).
Inline ``style`` attributes (the map legend's colour swatches) are the one inline allowance.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_PREFIXES = ("/carte", "/habitants", "/traitement")
#: what may not appear in a CSP host source (quotes, spaces, semicolons...)
_UNSAFE = re.compile(r"[^A-Za-z0-9.*:\[\]_-]")


def basemap_source(url: str | None) -> str | None:
    """The CSP source of a raster base map URL template (``{s}`` labels become ``*``).

    Examples
    --------
    >>> basemap_source("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png")
    'https://*.tile.openstreetmap.org'
    >>> basemap_source("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png")
    'http://127.0.0.1:8080'
    >>> basemap_source(None) is None
    True
    """
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    host = ".".join("*" if "{" in label else label for label in parts.netloc.split("."))
    return f"{parts.scheme}://{_UNSAFE.sub('', host)}"


def content_security_policy(*basemap_urls: str | None) -> str:
    """The pages' policy, allowing the origins of ``basemap_urls`` (``None`` ones are skipped).

    Examples
    --------
    >>> "frame-ancestors 'none'" in content_security_policy(None)
    True
    >>> "connect-src 'self' https://*.tile.osm.org;" in content_security_policy(
    ...     "https://{s}.tile.osm.org/{z}/{x}/{y}.png")
    True
    >>> "connect-src 'self' https://tiles.example https://data.geopf.fr;" in (
    ...     content_security_policy("https://tiles.example/{z}/{x}/{y}.png",
    ...                             "https://data.geopf.fr/annexes/PLAN.IGN/standard.json"))
    True
    """
    sources = [basemap_source(url) for url in basemap_urls]
    remote = "".join(f" {source}" for source in dict.fromkeys(s for s in sources if s))
    return (
        "default-src 'self'; "
        "script-src 'self'; "
        "style-src 'self'; "
        "style-src-attr 'unsafe-inline'; "
        f"img-src 'self' data: blob:{remote}; "
        f"connect-src 'self'{remote}; "
        "worker-src 'self' blob:; "
        "child-src 'self' blob:; "
        "font-src 'self'; "
        "manifest-src 'self'; "
        "object-src 'none'; "
        "base-uri 'self'; "
        "form-action 'self'; "
        "frame-ancestors 'none'"
    )


class SecurityHeaders:
    """ASGI middleware adding the headers to every response (the policy to pages only)."""

    def __init__(self, app: ASGIApp, *, basemap_urls: tuple[str | None, ...] = ()) -> None:
        self.app = app
        csp = content_security_policy(*basemap_urls).encode()
        self._common = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ]
        self._page = [(b"content-security-policy", csp), (b"x-frame-options", b"DENY")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        added = self._common + (self._page if path.startswith(PAGE_PREFIXES) else [])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        await self.app(scope, receive, with_headers)
