"""Guards at the HTTP boundary, before any route: NUL characters and caching by caller.

- :class:`RejectNul` answers 400 to a NUL character (``%00``, ``\\u0000``) in the path, the
  query string or a JSON or URL-encoded body: PostgreSQL cannot store it in text, and no
  legitimate client sends one. (Multipart forms carry binary photos: their text fields are
  checked where they are read, see :func:`reject_nul`.)
- :class:`PrivateWhenAuthenticated`: a response to a request that carries credentials is never
  stored by a shared cache (``public`` becomes ``private``), and every response varies on the
  credential headers, so a cache never hands one caller's answer to another.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.responses import Response

from geotranquil.api.open311_format import PREFIX as OPEN311_PREFIX
from geotranquil.api.open311_format import error_response as open311_error
from geotranquil.errors import InvalidInput

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: bodies scanned for NUL up to this size (larger ones are refused by their routes anyway)
MAX_SCANNED_BODY = 64 * 1024 * 1024
#: a JSON ``\u0000`` escape that is not itself an escaped backslash followed by ``u0000``
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
CREDENTIAL_HEADERS = ("X-API-Key", "Authorization")
#: routes whose bodies stream to disk, unbuffered: pushed batches (their records holding a NUL
#: are rejected one by one by the ingestion pipeline, as in a file)
STREAMED_BODIES = re.compile(r"^/sources/[^/]+/batches/?$")
NUL_MESSAGE = "caractère nul (%00, \\u0000) refusé dans {where} : retirez-le de la requête"


def reject_nul(value: str, where: str) -> str:
    """``value`` unchanged, or :class:`InvalidInput` when it holds a NUL character.

    Examples
    --------
    >>> reject_nul("rue de Rome", "description")
    'rue de Rome'
    >>> reject_nul("a\\x00b", "description")
    Traceback (most recent call last):
    ...
    geotranquil.errors.InvalidInput: caractère nul (%00, \\u0000) refusé dans description : ...
    """
    if "\x00" in value:
        raise InvalidInput(NUL_MESSAGE.format(where=where))
    return value


def _nul_response(path: str, where: str) -> Response:
    description = NUL_MESSAGE.format(where=where)
    if path.startswith(OPEN311_PREFIX):
        return open311_error(path, 400, description)
    return JSONResponse({"code": "InvalidParameterValue", "description": description}, 400)


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return b""


def _body_holds_nul(content_type: bytes, body: bytes) -> bool:
    if b"\x00" in body:
        return True
    if b"json" in content_type:
        return _JSON_NUL.search(body) is not None
    return b"%00" in body  # application/x-www-form-urlencoded


class _HttpMiddleware(ABC):
    """ASGI middleware acting on HTTP requests only (:meth:`http`, which each guard defines);
    other scopes (lifespan, websockets) go to the wrapped app untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    @abstractmethod
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request."""


class RejectNul(_HttpMiddleware):
    """ASGI middleware: 400 for a NUL in the path, the query or a JSON/URL-encoded body."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        where = None
        if "\x00" in path:
            where = "le chemin"
        elif b"%00" in bytes(scope.get("query_string", b"")):
            where = "les paramètres"
        if where is not None:
            await _nul_response(path.replace("\x00", ""), where)(scope, receive, send)
            return
        content_type = _header(scope, b"content-type").lower()
        if STREAMED_BODIES.match(path) or (
            b"json" not in content_type and b"x-www-form-urlencoded" not in content_type
        ):
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length.isdigit() and int(length) > MAX_SCANNED_BODY:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                return
            chunk = bytes(message.get("body", b""))
            chunks.append(chunk)
            size += len(chunk)
            more = bool(message.get("more_body", False))
            if size > MAX_SCANNED_BODY:
                break
        body = b"".join(chunks)
        if _body_holds_nul(content_type, body):
            await _nul_response(path, "le corps de la requête")(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": more}
            return await receive()

        await self.app(scope, replay, send)


def _merge_vary(existing: str, names: tuple[str, ...]) -> str:
    """``existing`` plus ``names`` not already there.

    Examples
    --------
    >>> _merge_vary("Accept-Encoding", ("X-API-Key", "Authorization"))
    'Accept-Encoding, X-API-Key, Authorization'
    >>> _merge_vary("x-api-key, authorization", ("X-API-Key", "Authorization"))
    'x-api-key, authorization'
    """
    present = [v.strip() for v in existing.split(",") if v.strip()]
    lowered = {v.lower() for v in present}
    return ", ".join(present + [n for n in names if n.lower() not in lowered])


def _authenticated(scope: Scope) -> bool:
    if _header(scope, b"x-api-key") or _header(scope, b"authorization"):
        return True
    query = bytes(scope.get("query_string", b""))
    return re.search(rb"(?:^|&)api_key=", query) is not None


class PrivateWhenAuthenticated(_HttpMiddleware):
    """ASGI middleware: ``Vary`` on credentials everywhere; ``private`` when credentials came."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        authenticated = _authenticated(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"vary", b"cache-control")
                ]
                old = {k.lower(): v.decode("latin-1") for k, v in message.get("headers", [])}
                vary = _merge_vary(old.get(b"vary", ""), CREDENTIAL_HEADERS)
                headers.append((b"vary", vary.encode("latin-1")))
                cache = old.get(b"cache-control")
                if cache is None and authenticated:
                    cache = "private"
                elif cache is not None and authenticated:
                    directives = [d.strip() for d in cache.split(",") if d.strip()]
                    directives = [d for d in directives if d.lower() not in ("public", "private")]
                    cache = ", ".join(["private", *directives])
                if cache is not None:
                    headers.append((b"cache-control", cache.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_guards(app: FastAPI) -> None:
    """Add the guards as the outermost middleware of ``app``."""
    app.add_middleware(PrivateWhenAuthenticated)
    app.add_middleware(RejectNul)
