"""The streaming read replica: what the primary writes the replica replays; the read-only
API reads there (proved by pausing the replica's replay: what the primary has and the
replica not yet is not served, then is); an audited read there leaves its audit row on the
primary; tiles cached by data version never hold the replica's older data under a newer
version; ``/health`` shows the lag."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from geotranquil.api.app import create_app
from geotranquil.api.deps import get_reader
from geotranquil.api.ogc_features import items as items_route
from geotranquil.config import Settings
from geotranquil.db.keys import create_key
from geotranquil.ingest.mapping import packaged_mappings
from geotranquil.services.ingestion import ingest, known_categories
from tests.audit_helpers import last_id, rows_after

from .conftest import current_lsn, reports_file, wait_replayed

ITEMS = "/collections/events/items"


@contextmanager
def replay_paused(replica: Engine) -> Iterator[None]:
    """The replica receives the primary's WAL but replays none of it meanwhile."""
    with replica.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_pause()"))
    try:
        yield
    finally:
        with replica.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))


@pytest.fixture(scope="module")
def client(settings: Settings, replica: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def analyst(engine: Engine, replica: Engine) -> str:
    with engine.begin() as conn:
        key, _ = create_key(conn=conn, name="replica analyst", role="analyst")
    wait_replayed(engine, replica)  # keys are looked up on the primary; the wait is for later
    return key


#: the day of the events this module plants (no other test of the tier plants on it)
DAY = "2026-09-15"


def _ingest(settings: Settings, tmp_path: Path, prefix: str, count: int) -> None:
    mapping = packaged_mappings(known_categories(settings))["habitants"]
    path = reports_file(tmp_path / f"{prefix}.json", prefix, count, day=DAY)
    summary = ingest(settings, path, mapping)
    assert (summary.status, summary.inserted) == ("completed", count)


def _page(client: TestClient, key: str) -> tuple[int, int]:
    """One page of items read by ``key``: (its features of the planted day, all its
    features)."""
    r = client.get(ITEMS, params={"limit": "1000", "api_key": key})
    assert r.status_code == 200, r.text
    features = r.json()["features"]
    mine = sum(1 for f in features if f["properties"]["occurred_at"].startswith(DAY))
    return mine, len(features)


def test_a_write_on_the_primary_is_replayed_by_the_replica(engine: Engine, replica: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS replica_probe (id int PRIMARY KEY)"))
        conn.execute(text("TRUNCATE replica_probe"))
        conn.execute(text("INSERT INTO replica_probe SELECT generate_series(1, 7)"))
    lsn = wait_replayed(engine, replica)
    with replica.connect() as conn:
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is True
        assert conn.execute(text("SELECT inet_server_port()")).scalar_one() == 5433
        assert conn.execute(text("SELECT count(*), sum(id) FROM replica_probe")).one() == (7, 28)
        assert conn.execute(
            text("SELECT pg_last_wal_replay_lsn() >= CAST(:p AS pg_lsn)"), {"p": lsn}
        ).scalar()


def test_the_read_only_api_reads_on_the_replica(client: TestClient) -> None:
    # the one dependency that chooses the engine, used by the items route
    reader = get_reader(_request(client))
    with reader.engine.connect() as conn:
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is True
    names = {d.call for d in _dependencies(items_route)}
    assert get_reader in names
    # writes and reads of one's own writes stay on the primary
    with client.app.state.services.engine.connect() as conn:  # type: ignore[attr-defined]
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is False


def test_items_served_from_the_replica_and_audited_on_the_primary(
    client: TestClient,
    settings: Settings,
    engine: Engine,
    replica: Engine,
    analyst: str,
    tmp_path: Path,
) -> None:
    assert _page(client, analyst)[0] == 0
    with replay_paused(replica):
        _ingest(settings, tmp_path, "REP", 9)  # on the primary only, for now
        written = current_lsn(engine)
        with engine.connect() as conn:
            on_primary = conn.execute(
                text("SELECT count(*) FROM events WHERE external_id LIKE 'REP-%'")
            ).scalar_one()
        assert on_primary == 9
        before_audit = last_id(engine)
        # the API reads on the replica, which has not replayed them
        mine, served = _page(client, analyst)
        assert (mine, served) == (0, on_primary_total(engine) - 9)
        # the audited read left its row on the primary before the answer came back...
        rows = rows_after(engine, before_audit)
        assert [(r["action"], r["path"], r["rows"]) for r in rows] == [
            ("read_events", ITEMS, served)
        ]
        # ...and not on the replica, where nothing new was replayed
        with replica.connect() as conn:
            assert (
                conn.execute(
                    text("SELECT count(*) FROM audit_log WHERE id > :a"), {"a": before_audit}
                ).scalar_one()
                == 0
            )
        health = client.get("/health").json()["replica"]
        assert health["configured"] is True and health["in_recovery"] is True
        with replica.connect() as conn:
            replayed_at = conn.execute(text("SELECT pg_last_wal_replay_lsn()::text")).scalar()
        with engine.connect() as conn:
            behind = conn.execute(
                text("SELECT pg_wal_lsn_diff(CAST(:w AS pg_lsn), CAST(:r AS pg_lsn))"),
                {"w": written, "r": replayed_at},
            ).scalar_one()
        assert behind > 0 and health["lag_bytes"] >= behind
        assert health["lag_s"] >= 0
    wait_replayed(engine, replica, written)
    assert _page(client, analyst) == (9, on_primary_total(engine))


def test_health_without_a_replica_says_so(engine: Engine, settings: Settings) -> None:
    plain = settings.model_copy(update={"read_database_url": None})
    with TestClient(create_app(plain)) as c:
        body = c.get("/health").json()
    assert body["replica"] == {"configured": False}


def on_primary_total(engine: Engine) -> int:
    """Events on the primary."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM events")).scalar_one())


def _request(client: TestClient) -> Any:
    """A bare request on the test app, for calling a dependency by hand."""
    from starlette.requests import Request

    return Request({"type": "http", "app": client.app, "headers": []})


def _dependencies(route_fn: Any) -> list[Any]:
    """The dependencies of the route that calls ``route_fn`` (FastAPI's dependant tree)."""
    from fastapi.routing import APIRoute

    from geotranquil.api.ogc_features import router

    route = next(r for r in router.routes if isinstance(r, APIRoute) and r.endpoint is route_fn)
    return list(route.dependant.dependencies)


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def _tile_points(client: TestClient, key: str, z: int, x: int, y: int) -> int:
    r = client.get(f"/tiles/events/{z}/{x}/{y}.mvt", params={"api_key": key})
    assert r.status_code in (200, 204), r.text
    if r.status_code == 204:
        return 0
    return len(mapbox_vector_tile.decode(r.content)["events"]["features"])


def test_cached_tiles_follow_the_data_version_of_the_replica(
    client: TestClient,
    settings: Settings,
    engine: Engine,
    replica: Engine,
    analyst: str,
    tmp_path: Path,
) -> None:
    z = 15
    x, y = _tile_xy(5.3811, 43.2965, z)
    assert _tile_xy(5.3817, 43.2965, z) == (x, y)  # every planted point in this one tile
    wait_replayed(engine, replica)
    before = _tile_points(client, analyst, z, x, y)
    with replay_paused(replica):
        _ingest(settings, tmp_path, "TILE", 5)
        written = current_lsn(engine)
        # cut from the replica and cached under the replica's (older) data version
        assert _tile_points(client, analyst, z, x, y) == before
    wait_replayed(engine, replica, written)
    # the replica's newer version names another tile: never the older one served as fresh
    assert _tile_points(client, analyst, z, x, y) == before + 5
