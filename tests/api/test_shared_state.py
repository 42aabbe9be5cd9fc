"""State shared through Redis (the machine's, 127.0.0.1:6379): rate limits, tiles, API keys,
and what happens when Redis is down (each process falls back to its own memory).

Each test uses its own key prefix, so runs and tests never share buckets.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.db.keys import create_key
from geotranquil.services.access import KeyResolver, revoke_key
from geotranquil.services.ratelimit import SharedBuckets
from geotranquil.services.shared_state import SharedState, SharedStateDown
from geotranquil.services.tilecache import SharedTileCache, TileCache
from tests.api.served import Served
from tests.api.test_tiles import tile_xy
from tests.integration.ingest_helpers import RUE_DE_ROME
from tests.live_server import free_port, live_server

REDIS = "redis://127.0.0.1:6379/0"


def dead_redis() -> str:
    """A Redis URL where nothing listens."""
    return f"redis://127.0.0.1:{free_port()}/0"


def prefix() -> str:
    return f"gt-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def shared(loaded_engine: Engine) -> Iterator[SharedState]:
    state = SharedState(REDIS, prefix=prefix(), engine=loaded_engine)
    yield state
    state.call(lambda r: [r.delete(k) for k in r.scan_iter(state.namespace() + "*")])
    state.close()


def test_a_bucket_is_shared_by_every_process(shared: SharedState) -> None:
    # two applications (two workers) with the same limit: 3 tokens in all, one back per second
    first = SharedBuckets(shared, "demo", 60.0, 3)
    second = SharedBuckets(shared, "demo", 60.0, 3)
    assert [first.take("a"), second.take("a"), first.take("a")] == [0.0, 0.0, 0.0]
    wait = second.take("a")
    assert 0.9 < wait <= 1.0
    assert first.take("b") == 0.0  # another client has its own bucket
    assert first.fallback.take("a") == 0.0  # the per-process buckets were never used


def test_the_namespace_names_the_database(shared: SharedState, loaded_engine: Engine) -> None:
    database = loaded_engine.url.database
    assert shared.key("tile", "x").split(":")[1] == database
    assert shared.key("tile", "x").endswith(":tile:x")


def test_tiles_cached_by_one_process_are_hits_in_another(shared: SharedState) -> None:
    one = SharedTileCache(TileCache(8), shared, 60)
    other = SharedTileCache(TileCache(8), shared, 60)
    assert other.lookup("k") is None
    one.put("k", (b"mvt", b"gz"))
    assert other.lookup("k") == ((b"mvt", b"gz"), "redis")
    assert other.lookup("k") == ((b"mvt", b"gz"), "process")  # now in its own memory too
    assert SharedTileCache(TileCache(8), shared, 0).lookup("k") is None  # Redis disabled


def test_a_key_revoked_is_refused_at_once_by_every_resolver(
    shared: SharedState, loaded_engine: Engine
) -> None:
    with loaded_engine.begin() as conn:
        key, info = create_key(conn=conn, name="révocation partagée", role="analyst")
    resolvers = [KeyResolver(loaded_engine, shared) for _ in range(3)]
    assert {r.caller(key).key_id for r in resolvers} == {info.id}
    _, at_once = revoke_key(engine=loaded_engine, key_id=info.id, shared=shared)
    assert at_once
    for resolver in resolvers:
        with pytest.raises(Exception, match="révoquée"):
            resolver.caller(key)


def test_when_redis_is_down_each_process_falls_back(loaded_engine: Engine) -> None:
    down = SharedState(dead_redis(), prefix=prefix(), engine=loaded_engine)
    with pytest.raises(SharedStateDown):
        down.call(lambda r: r.ping())
    assert not down.available()
    buckets = SharedBuckets(down, "demo", 60.0, 2)
    assert [buckets.take("a"), buckets.take("a")] == [0.0, 0.0]
    assert 0.9 < buckets.take("a") <= 1.0  # still limited, by this process alone
    tiles = SharedTileCache(TileCache(8), down, 60)
    tiles.put("k", (b"mvt", None))
    assert tiles.lookup("k") == ((b"mvt", None), "process")
    with loaded_engine.begin() as conn:
        key, info = create_key(conn=conn, name="sans redis", role="planner")
    resolver = KeyResolver(loaded_engine, down)
    assert resolver.caller(key).key_id == info.id
    _, at_once = revoke_key(engine=loaded_engine, key_id=info.id, shared=down)
    assert not at_once  # the CLI then says: refused within 30 s
    assert resolver.caller(key).key_id == info.id  # this process's 30 s cache, as documented


def test_the_server_keeps_serving_without_redis(
    settings: Settings, served: Served, api_keys: dict[str, str]
) -> None:
    degraded = settings.model_copy(
        update={"redis_url": dead_redis(), "read_rate_per_minute": 1.0, "read_rate_burst": 4}
    )
    with live_server(degraded) as url, httpx.Client(base_url=url, timeout=30) as http:
        health = http.get("/health")
        assert health.status_code == 200
        assert health.json()["redis"] == "unreachable"
        analyst = {"X-API-Key": api_keys["analyst"]}
        x, y = tile_xy(*RUE_DE_ROME, 12)
        first = http.get(f"/tiles/counts-r8/12/{x}/{y}.mvt", headers=analyst)
        again = http.get(f"/tiles/counts-r8/12/{x}/{y}.mvt", headers=analyst)
        assert first.status_code == again.status_code == 200
        assert (first.headers["X-Cache"], again.headers["X-Cache"]) == (
            "MISS",
            "HIT; store=process",
        )
        assert first.content == again.content
        # the public's read limit still holds, per process: health was the first of 4
        statuses = [http.get("/collections").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]


@pytest.fixture
def limited(settings: Settings, loaded_engine: Engine) -> Iterator[str]:
    """A server whose public may make 5 GET requests (then 1 a minute)."""
    strict = settings.model_copy(
        update={"redis_prefix": prefix(), "read_rate_per_minute": 1.0, "read_rate_burst": 5}
    )
    with live_server(strict) as url:
        yield url


def test_the_public_read_limit_answers_429_in_french(
    limited: str, api_keys: dict[str, str]
) -> None:
    with httpx.Client(base_url=limited, timeout=30) as http:
        statuses = [http.get("/collections").status_code for _ in range(5)]
        refused = http.get("/collections/counts-r8/items?limit=1")
        assert statuses == [200] * 5
        assert refused.status_code == 429
        assert 55 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.json()["description"].startswith("trop de requêtes depuis votre adresse")
        # staff keys are not limited; partners and unknown keys are, on the same address
        staff = [
            http.get("/collections", headers={"X-API-Key": api_keys[role]}).status_code
            for role in ("analyst", "planner", "agent", "admin")
            for _ in range(3)
        ]
        assert staff == [200] * 12
        partner = http.get("/collections", headers={"X-API-Key": api_keys["partner"]})
        assert partner.status_code == 429
        assert http.get("/collections", headers={"X-API-Key": "gtq_nope"}).status_code == 429
        # the Open311 read routes too, as the specification's error list
        open311 = http.get("/open311/v2/services.json")
        assert open311.status_code == 429
        assert open311.json()[0]["code"] == 429


def test_forwarded_for_is_ignored_without_trusted_proxies(limited: str) -> None:
    with httpx.Client(base_url=limited, timeout=30) as http:
        statuses = [
            http.get("/collections", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
            for i in range(7)
        ]
    assert statuses == [200] * 5 + [429] * 2


def test_forwarded_for_is_read_from_trusted_proxies_only_from_the_right(
    settings: Settings, loaded_engine: Engine
) -> None:
    proxied = settings.model_copy(
        update={
            "redis_prefix": prefix(),
            "read_rate_per_minute": 1.0,
            "read_rate_burst": 2,
            "trusted_proxies": ("127.0.0.1", "10.0.0.0/8"),
        }
    )
    with live_server(proxied) as url, httpx.Client(base_url=url, timeout=30) as http:

        def get(header: str) -> int:
            return http.get("/collections", headers={"X-Forwarded-For": header}).status_code

        # each client behind the proxy has its own bucket
        assert [get("203.0.113.1"), get("203.0.113.1"), get("203.0.113.1")] == [200, 200, 429]
        assert [get("203.0.113.2"), get("203.0.113.2")] == [200, 200]
        # what a client writes on the left is not believed: the nearest untrusted hop counts,
        # past our own proxies (10.0.0.0/8)
        assert get("6.6.6.6, 203.0.113.1") == 429
        assert get("6.6.6.7, 203.0.113.2, 10.1.2.3") == 429
        assert [get("198.51.100.7, 10.1.2.3"), get("198.51.100.7")] == [200, 200]


def test_forwarded_rfc7239_when_configured(settings: Settings, loaded_engine: Engine) -> None:
    proxied = settings.model_copy(
        update={
            "redis_prefix": prefix(),
            "read_rate_per_minute": 1.0,
            "read_rate_burst": 1,
            "trusted_proxies": ("127.0.0.1",),
            "proxy_header": "forwarded",
        }
    )
    with live_server(proxied) as url, httpx.Client(base_url=url, timeout=30) as http:

        def get(headers: dict[str, str]) -> int:
            return http.get("/collections", headers=headers).status_code

        assert get({"Forwarded": 'for="[2001:db8::1]:4711";proto=https'}) == 200
        assert get({"Forwarded": "for=6.6.6.6, for=2001:db8::1"}) == 429
        # X-Forwarded-For is not the configured header: it is ignored, the peer counts
        assert get({"X-Forwarded-For": "203.0.113.50"}) == 200
        assert get({"X-Forwarded-For": "203.0.113.51"}) == 429


def test_residents_cannot_escape_their_filing_limit_with_forwarded_for(
    settings: Settings, loaded_engine: Engine
) -> None:
    strict = settings.model_copy(
        update={
            "redis_prefix": prefix(),
            "open311_rate_client_per_minute": 1.0,
            "open311_rate_client_burst": 2,
        }
    )
    with live_server(strict) as url, httpx.Client(base_url=url, timeout=30) as http:
        # the limit is taken before the form is read: empty forms are refused (400) after it
        statuses = [
            http.post(
                "/habitants/signalements",
                data={"description": "x"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            ).status_code
            for i in range(4)
        ]
    assert statuses == [400, 400, 429, 429]


def test_security_headers_on_pages(settings: Settings, loaded_engine: Engine) -> None:
    with_basemap = settings.model_copy(
        update={"web_basemap_url": "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"}
    )
    with live_server(with_basemap) as url, httpx.Client(base_url=url, timeout=30) as http:
        for path in (
            "/carte",
            "/carte/static/carte.js",
            "/habitants/",
            "/habitants/sw.js",
            "/traitement",
        ):
            answer = http.get(path)
            assert answer.status_code == 200, path
            csp = answer.headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in csp
            assert "worker-src 'self' blob:" in csp
            assert "child-src 'self' blob:" in csp
            assert "img-src 'self' data: blob: https://*.tile.openstreetmap.org;" in csp
            assert "script-src 'self';" in csp
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
            assert answer.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        api = http.get("/collections")
        assert api.headers["X-Content-Type-Options"] == "nosniff"
        assert "Content-Security-Policy" not in api.headers


def test_cors_is_closed_by_default(http: httpx.Client) -> None:
    preflight = http.options(
        "/collections",
        headers={"Origin": "https://kepler.gl", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    plain = http.get("/collections", headers={"Origin": "https://kepler.gl"})
    assert "access-control-allow-origin" not in plain.headers


def test_cors_allow_list(settings: Settings, loaded_engine: Engine) -> None:
    open_to = settings.model_copy(update={"cors_origins": ("https://kepler.gl",)})
    with live_server(open_to) as url, httpx.Client(base_url=url, timeout=30) as http:
        preflight = http.options(
            "/collections/counts-r8/items",
            headers={
                "Origin": "https://kepler.gl",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "X-API-Key",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://kepler.gl"
        got = http.get("/collections", headers={"Origin": "https://kepler.gl"})
        assert got.headers["access-control-allow-origin"] == "https://kepler.gl"
        other = http.get("/collections", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        refused = http.options(
            "/collections",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert refused.status_code == 400
