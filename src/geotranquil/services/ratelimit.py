"""Rate limits shared by every worker: token buckets kept in Redis (GCRA, one Lua script).

A bucket holds ``burst`` tokens and gets ``per_minute`` back per minute; a request takes one.
In Redis a bucket is one key holding its "theoretical arrival time" (the generic cell rate
algorithm, which is a token bucket stored as one number), updated atomically by a script that
reads Redis' own clock, so workers on several hosts agree without synchronised clocks.
The key names the limit, its rate and burst, and who is limited: changing a setting starts
fresh buckets. While Redis is unreachable the per-process buckets of
:class:`~geotranquil.services.open311_ratelimit.TokenBuckets` take over
(see :mod:`geotranquil.services.shared_state`).
"""

from __future__ import annotations

from geotranquil.services.open311_ratelimit import Buckets, TokenBuckets
from geotranquil.services.shared_state import SharedState, SharedStateDown

__all__ = ["GCRA", "Buckets", "SharedBuckets"]

# KEYS[1]: the bucket; ARGV[1]: milliseconds per token; ARGV[2]: burst.
# Returns "0" when a token was taken, else the milliseconds until one is back.
GCRA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + tonumber(now_parts[2]) / 1000
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - tolerance - now
if wait > 0 then return tostring(wait) end
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.ceil(new_tat - now) + 1000)
return '0'
"""


class SharedBuckets:
    """Token buckets named ``limit`` in Redis, with per-process buckets while it is down."""

    def __init__(self, shared: SharedState, limit: str, per_minute: float, burst: int) -> None:
        self._shared = shared
        self._prefix = f"rate:{limit}:{per_minute:g}:{burst}"
        self._interval_ms = 60_000.0 / per_minute
        self._burst = burst
        self._script = shared.script(GCRA)
        self.fallback = TokenBuckets(per_minute, burst)

    def take(self, name: str) -> float:
        """Take one token for ``name``: 0.0 when granted, else the seconds until one is back."""
        try:
            key = self._shared.key(self._prefix, name)
            waited = self._shared.call(
                lambda _r: self._script(keys=[key], args=[repr(self._interval_ms), self._burst])
            )
        except SharedStateDown:
            return self.fallback.take(name)
        wait_ms = float(waited.decode() if isinstance(waited, bytes) else str(waited))
        return wait_ms / 1000.0
