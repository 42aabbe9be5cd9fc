"""Per-key and per-client rate limits on filing reports, and in-process token buckets.

The application gives :class:`ReportLimits` the Redis buckets of
:mod:`geotranquil.services.ratelimit` (shared by every worker); :class:`TokenBuckets` are
their per-process fallback while Redis is unreachable.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

from geotranquil.errors import TooManyRequests


class Buckets(Protocol):
    """What a limit needs: take one token for a name, or learn how long to wait."""

    def take(self, name: str) -> float: ...


class TokenBuckets:
    """One bucket per name: ``burst`` tokens, refilled at ``per_minute`` per minute."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_names: int = 100_000,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._max_names = max_names
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, name: str) -> float:
        """Take one token for ``name``: 0.0 when granted, else the seconds until one is back."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(name, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                if len(self._buckets) >= self._max_names and name not in self._buckets:
                    self._forget_full(now)
                self._buckets[name] = (tokens - 1.0, now)
                return 0.0
            self._buckets[name] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled completely (they hold no state worth keeping)."""
        full = [
            n
            for n, (t, last) in self._buckets.items()
            if t + (now - last) * self.rate >= self.burst
        ]
        for n in full:
            del self._buckets[n]
        if len(self._buckets) >= self._max_names:
            self._buckets.clear()


class ReportLimits:
    """The two limits of ``POST requests``: per API key and per client address."""

    def __init__(self, per_key: Buckets, per_client: Buckets) -> None:
        self.per_key = per_key
        self.per_client = per_client

    def check(self, *, key_id: int | None, client: str | None) -> None:
        """Raise TooManyRequests (with the wait) when either limit is exhausted."""
        wait = self.per_client.take(client or "?")
        if wait > 0:
            raise TooManyRequests(
                "trop de signalements envoyés depuis cette adresse : réessayez dans "
                f"{math.ceil(wait)} s",
                retry_after=max(1, math.ceil(wait)),
            )
        wait = self.per_key.take(f"key:{key_id}")
        if wait > 0:
            raise TooManyRequests(
                "trop de signalements envoyés avec cette clé d'application : réessayez dans "
                f"{math.ceil(wait)} s",
                retry_after=max(1, math.ceil(wait)),
            )
