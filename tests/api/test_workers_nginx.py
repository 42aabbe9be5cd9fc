"""Four workers behind nginx behave as one server: one rate limit, one tile cache, one revocation.

Four uvicorn processes (one worker each, each with its own memory) on the test database, and
Debian's nginx before them (its own nginx.conf in a temporary folder, round robin, one nginx
worker process so the order is strict, X-Forwarded-For set as in production; nginx on
127.0.0.1 is the workers' only trusted proxy). The test client talks to nginx from 127.0.0.2,
so the workers see the client as 127.0.0.2 whatever X-Forwarded-For it forges (and from
127.0.0.3 for the revocation tests, whose refused keys count against the read limit too).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from benchmarks._nginx import NGINX, Front, workers_behind_nginx
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from geotranquil.cli.main import app as cli
from geotranquil.config import Settings
from geotranquil.db.keys import create_key
from geotranquil.services.access import KEY_CACHE_SECONDS
from tests.api.served import Served
from tests.api.test_tiles import tile_xy
from tests.integration.ingest_helpers import RUE_DE_ROME

WORKERS = 4
LIMIT = 10  # public GET requests per minute (and burst) per client address
CLIENT = "127.0.0.2"
#: revoked keys count against the read limit like unknown ones: those tests come from here
OTHER_CLIENT = "127.0.0.3"


@pytest.fixture(scope="module")
def prefix() -> str:
    return f"gt-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def front(
    settings: Settings,
    loaded_engine: Engine,
    tmp_path_factory: pytest.TempPathFactory,
    prefix: str,
) -> Iterator[Front]:
    if not Path(NGINX).is_file():
        pytest.fail(f"{NGINX} missing: scripts/setup.sh installs Debian's nginx")
    env = {
        "GEOTRANQUIL_REDIS_PREFIX": prefix,
        "GEOTRANQUIL_READ_RATE_PER_MINUTE": str(LIMIT),
        "GEOTRANQUIL_READ_RATE_BURST": str(LIMIT),
    }
    directory = tmp_path_factory.mktemp("workers")
    with workers_behind_nginx(WORKERS, settings.database_url, directory, env) as started:
        yield started


def client(front: Front, address: str = CLIENT) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=front.base_url, transport=transport, timeout=60)


def test_a_limit_of_n_per_minute_holds_across_workers(front: Front) -> None:
    def get(i: int) -> int:
        with client(front) as http:  # new connections, spread over the workers by nginx
            forged = {"X-Forwarded-For": f"198.51.100.{i}"}  # not believed: 127.0.0.2 counts
            return http.get("/collections", headers=forged).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(get, range(3 * LIMIT)))
    elapsed = time.monotonic() - started
    # one token comes back every 60 / LIMIT s: the count is exact if the burst fits in that
    assert elapsed < 60 / LIMIT, f"{elapsed:.1f} s: the machine is too busy for this test"
    assert statuses.count(200) == LIMIT, statuses
    assert statuses.count(429) == 2 * LIMIT
    with client(front) as http:
        refused = http.get("/collections")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60 / LIMIT
    assert refused.json()["description"].startswith("trop de requêtes")


def test_a_tile_cached_by_one_worker_is_a_hit_on_another(
    front: Front, served: Served, api_keys: dict[str, str]
) -> None:
    x, y = tile_xy(*RUE_DE_ROME, 13)
    analyst = {"X-API-Key": api_keys["analyst"]}  # staff: no read limit
    with client(front) as http:
        answers = [
            http.get(f"/tiles/counts-r9/13/{x}/{y}.mvt", headers=analyst)
            for _ in range(2 * WORKERS)
        ]
    assert [a.status_code for a in answers] == [200] * (2 * WORKERS)
    caches = [a.headers["X-Cache"] for a in answers]
    # one worker renders it; nginx sends the others to the other workers (round robin, though
    # not in a fixed order when it skips a busy one), which find it in Redis; a worker asked
    # again finds it in its own memory. Never rendered twice.
    assert caches[0] == "MISS", caches
    assert set(caches[1:]) <= {"HIT; store=redis", "HIT; store=process"}, caches
    assert caches.count("HIT; store=redis") >= WORKERS - 1, caches
    assert len({a.content for a in answers}) == 1


def _all_workers(http: httpx.Client, key: str) -> list[int]:
    """One request to each worker (round robin) with ``key``: their statuses."""
    return [
        http.get("/collections", headers={"X-API-Key": key}).status_code for _ in range(WORKERS)
    ]


def _refused_by_all_within(http: httpx.Client, key: str, deadline_s: float) -> float:
    """Seconds until every worker refuses ``key`` (fails after ``deadline_s``)."""
    started = time.monotonic()
    while True:
        statuses = _all_workers(http, key)
        if statuses == [401] * WORKERS:
            return time.monotonic() - started
        assert time.monotonic() - started < deadline_s, f"a worker still accepts it: {statuses}"
        time.sleep(0.2)


def test_a_key_revoked_with_the_cli_is_refused_by_all_workers_at_once(
    front: Front, settings: Settings, loaded_engine: Engine, prefix: str
) -> None:
    with loaded_engine.begin() as conn:
        key, info = create_key(conn=conn, name="révoquée derrière nginx", role="analyst")
    with client(front, OTHER_CLIENT) as http:
        assert _all_workers(http, key) == [200] * WORKERS  # every worker knows it now
        done = CliRunner().invoke(
            cli,
            ["keys", "revoke", str(info.id)],
            env={
                "GEOTRANQUIL_DATABASE_URL": settings.database_url,
                "GEOTRANQUIL_REDIS_PREFIX": prefix,
            },
        )
        assert done.exit_code == 0, done.output
        assert "révoquée" in done.output and "Redis injoignable" not in done.output
        # the documented delay for the CLI is none: allow one second for a busy machine
        assert _refused_by_all_within(http, key, 1.0) < 1.0


def test_a_key_revoked_in_sql_is_refused_by_all_workers_within_30_s(
    front: Front, loaded_engine: Engine
) -> None:
    with loaded_engine.begin() as conn:
        key, info = create_key(conn=conn, name="révoquée en SQL", role="planner")
    with client(front, OTHER_CLIENT) as http:
        assert _all_workers(http, key) == [200] * WORKERS
        with loaded_engine.begin() as conn:
            conn.execute(
                text("UPDATE api_keys SET revoked_at = now() WHERE id = :i"), {"i": info.id}
            )
        waited = _refused_by_all_within(http, key, KEY_CACHE_SECONDS + 2)
    assert waited <= KEY_CACHE_SECONDS + 2
