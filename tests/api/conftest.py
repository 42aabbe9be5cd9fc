"""A real HTTP server (uvicorn in a thread) on a free local port, for the API tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from tests.api.served import Served, load_served
from tests.live_server import live_server


@pytest.fixture(scope="session")
def server_url(settings: Settings, loaded_engine: Engine) -> Iterator[str]:
    """The API served for the tests, with the residents' filing limit per client address out
    of the way: it is shared through Redis by every server of the session (its own tests set
    it low on their own servers)."""
    relaxed = settings.model_copy(
        update={"open311_rate_client_per_minute": 6000.0, "open311_rate_client_burst": 1000}
    )
    with live_server(relaxed) as url:
        yield url


@pytest.fixture
def http(server_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def served_session(
    loaded_engine: Engine, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Served:
    return load_served(loaded_engine, settings.database_url, tmp_path_factory.mktemp("served"))


@pytest.fixture
def served(served_session: Served, loaded_engine: Engine) -> Served:
    """The served data set, loaded once per session and checked intact before each test.

    Nothing in this tier empties it (the integration tests, which empty tables, have their own
    database); a test that did would fail here, by name, rather than be hidden by a reload.
    Other tests may add events of other sources (residents' reports, planted events), never
    to the served source.
    """
    with loaded_engine.connect() as conn:
        n = conn.execute(
            text(
                "SELECT count(*) FROM events e JOIN sources s ON s.id = e.source_id "
                "WHERE s.slug = 'test_served'"
            )
        ).scalar_one()
        runs = conn.execute(
            text("SELECT count(*) FROM hotspot_runs WHERE id IN (:a, :b)"),
            {"a": served_session.gi_run, "b": served_session.emerging_run},
        ).scalar_one()
    assert (n, runs) == (served_session.total, 2), (
        f"the served data set was changed by an earlier test: {n} served events "
        f"(expected {served_session.total}), {runs} of its 2 hot-spot runs"
    )
    return served_session


@pytest.fixture(scope="session")
def api_keys(loaded_engine: Engine) -> dict[str, str]:
    """One live key per role (``public`` is no key)."""
    from geotranquil.db.keys import create_key

    out = {}
    with loaded_engine.begin() as conn:
        for role in ("admin", "analyst", "agent", "planner", "partner"):
            key, _ = create_key(conn=conn, name=f"test {role}", role=role)
            out[role] = key
    return out


def headers_for(role: str, api_keys: dict[str, str]) -> dict[str, str]:
    """Request headers of a role."""
    return {} if role == "public" else {"X-API-Key": api_keys[role]}
