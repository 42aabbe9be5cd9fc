"""Several workers, one behaviour: what ``create_app`` wires for N processes behind a proxy.

- :func:`install_shared_state`: the Redis-backed state every worker shares (the public's read
  limit, the Open311 filing limits, the tile cache, the resolved API keys); see
  :mod:`geotranquil.services.shared_state` for what happens when Redis is down;
- :func:`install_headers`: the security headers of every response and the CORS allow-list.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine

from geotranquil.api.client_address import trusted_networks
from geotranquil.api.security_headers import SecurityHeaders
from geotranquil.config import Settings
from geotranquil.services.access import KeyResolver
from geotranquil.services.open311_ratelimit import ReportLimits
from geotranquil.services.ratelimit import SharedBuckets
from geotranquil.services.shared_state import SharedState
from geotranquil.services.tilecache import SharedTileCache, TileCache


@dataclass(frozen=True)
class Shared:
    """The shared parts the routes' services hold."""

    state: SharedState
    keys: KeyResolver
    tiles: SharedTileCache


def install_shared_state(app: FastAPI, settings: Settings, engine: Engine) -> Shared:
    """Build the shared state; the rate limits go on ``app.state`` (read_limit, open311_limits)."""
    trusted_networks(tuple(settings.trusted_proxies))  # a malformed proxy list fails at start
    state = SharedState(settings.redis_url, prefix=settings.redis_prefix, engine=engine)
    app.state.shared = state
    app.state.read_limit = SharedBuckets(
        state, "read", settings.read_rate_per_minute, settings.read_rate_burst
    )
    app.state.open311_limits = ReportLimits(
        per_key=SharedBuckets(
            state,
            "open311-key",
            settings.open311_rate_key_per_minute,
            settings.open311_rate_key_burst,
        ),
        per_client=SharedBuckets(
            state,
            "open311-client",
            settings.open311_rate_client_per_minute,
            settings.open311_rate_client_burst,
        ),
    )
    local = TileCache(settings.tile_cache_entries)
    tiles = SharedTileCache(local, state, settings.tile_cache_ttl_s)
    return Shared(state, KeyResolver(engine, state), tiles)


def install_headers(app: FastAPI, settings: Settings) -> None:
    """Security headers on every response; CORS for the allowed origins only (none by default)."""
    app.add_middleware(
        SecurityHeaders,
        basemap_urls=(settings.web_basemap_url, settings.web_basemap_style_url),
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "HEAD", "POST"],
            allow_headers=["X-API-Key", "Authorization", "Content-Type", "If-None-Match"],
            expose_headers=["ETag", "Link", "Retry-After", "X-Cache"],
            max_age=600,
        )
