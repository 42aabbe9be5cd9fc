"""State every worker shares, in Redis: one client, our key namespace, and the outage rule.

Rate limits, the tile cache and the resolved API keys live in Redis so that N uvicorn workers
(on one host or several) behave as one server. When Redis cannot be reached, :meth:`call`
raises :class:`SharedStateDown` at once (no request waits on a dead Redis for more than the
connect timeout, and after a failure Redis is left alone for ``retry_s`` seconds); every user
of this module then falls back to its own per-process state, which is how the platform worked
with a single process:

- rate limits: per-process token buckets (with N workers a client may get up to N times the
  limit while Redis is down);
- tile cache: the per-process LRU only;
- API keys: a per-process cache of 30 s (a revoked key is refused within 30 s).

The outage is logged once (warning) and its end once (info); ``/health`` reports it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger("geotranquil.shared")
T = TypeVar("T")


class SharedStateDown(Exception):
    """Redis is unreachable (or was a moment ago): use the per-process fallback."""


class SharedState:
    """Our Redis: a lazily connected client whose keys are namespaced by database.

    The namespace is ``<prefix>:<database name>:<database oid>:``, so that two databases (the
    demo's, a test run's) never share limits, tiles or keys, and a database dropped and
    created again starts with fresh state.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        engine: Engine,
        connect_timeout_s: float = 0.25,
        timeout_s: float = 1.0,
        retry_s: float = 5.0,
    ) -> None:
        self.url = url
        self._client = redis.Redis.from_url(
            url,
            socket_connect_timeout=connect_timeout_s,
            socket_timeout=timeout_s,
            retry_on_timeout=False,
        )
        self._prefix = prefix
        self._engine = engine
        self._retry_s = retry_s
        self._namespace: str | None = None
        self._down_until = 0.0
        self._down = False
        self._lock = threading.Lock()

    def namespace(self) -> str:
        """``<prefix>:<database>:<oid>:``, read from the database once (SharedStateDown while
        the database cannot say: the per-process fallbacks need no namespace)."""
        if self._namespace is None:
            try:
                with self._engine.connect() as conn:
                    name, oid = conn.execute(
                        text(
                            "SELECT datname, oid FROM pg_database "
                            "WHERE datname = current_database()"
                        )
                    ).one()
            except DBAPIError as exc:
                raise SharedStateDown("database unreachable: no namespace yet") from exc
            self._namespace = f"{self._prefix}:{name}:{oid}:"
        return self._namespace

    def key(self, *parts: str) -> str:
        """A namespaced Redis key."""
        return self.namespace() + ":".join(parts)

    def call(self, operation: Callable[[redis.Redis], T]) -> T:
        """Run ``operation`` on the client; SharedStateDown when Redis is unreachable."""
        if self._down and time.monotonic() < self._down_until:
            raise SharedStateDown(self.url)
        try:
            result = operation(self._client)
        except redis.RedisError as exc:
            with self._lock:
                if not self._down:
                    log.warning(
                        "Redis unreachable at %s (%s): per-process limits and caches until it "
                        "is back",
                        _safe_url(self.url),
                        type(exc).__name__,
                    )
                self._down = True
                self._down_until = time.monotonic() + self._retry_s
            raise SharedStateDown(self.url) from exc
        if self._down:
            with self._lock:
                if self._down:
                    log.info("Redis back at %s: shared limits and caches", _safe_url(self.url))
                self._down = False
        return result

    def script(self, source: str) -> Callable[..., object]:
        """A Lua script run by its SHA (loaded on first use); call it inside :meth:`call`."""
        return self._client.register_script(source)

    def available(self) -> bool:
        """Whether Redis answers a PING now (for ``/health``)."""
        try:
            return bool(self.call(lambda r: r.ping()))
        except SharedStateDown:
            return False

    def close(self) -> None:
        self._client.close()


def _safe_url(url: str) -> str:
    """The URL without its password, for logs.

    Examples
    --------
    >>> _safe_url("redis://:secret@cache:6379/0")
    'redis://cache:6379/0'
    """
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"
