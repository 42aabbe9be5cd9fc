"""The service answers: health with the database state, OpenAPI 3 at /api, docs at /api/docs."""

from __future__ import annotations

import httpx
import psycopg
from openapi_spec_validator import validate
from sqlalchemy import Engine, text

from geotranquil.api.app import create_app
from geotranquil.config import Settings
from geotranquil.db.admin import head_revision
from geotranquil.db.engine import psycopg_dsn
from tests.api.conftest import headers_for
from tests.api.served import Served
from tests.event_plants import counted_per_source


def test_health_reports_database_content(http: httpx.Client, loaded_engine: Engine) -> None:
    with loaded_engine.connect() as conn:
        cells10 = conn.execute(
            text("SELECT count(*) FROM grid_cells WHERE resolution = 10")
        ).scalar_one()
    r = http.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["schema_revision"] == head_revision()
    assert body["areas"]["arrondissement"] == 16
    assert body["grid_cells"]["10"] == cells10


def test_openapi_is_valid_and_docs_served(http: httpx.Client) -> None:
    spec = http.get("/api")
    assert spec.status_code == 200
    assert spec.headers["content-type"].startswith("application/json")
    validate(spec.json())
    assert "/health" in spec.json()["paths"]
    docs = http.get("/api/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    landing = http.get("/", follow_redirects=False).json()  # the OGC API landing page
    docs_link = next(link for link in landing["links"] if link["rel"] == "service-doc")
    assert docs_link["href"].endswith("/api/docs")


def test_unknown_path_is_a_clean_404(http: httpx.Client) -> None:
    r = http.get("/nope")
    assert r.status_code == 404
    assert "Traceback" not in r.text


def test_health_is_503_when_database_is_down() -> None:
    settings = Settings(database_url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings)) as client:
        r = client.get("/health")
    assert r.status_code == 503
    assert r.json()["database"] == "unreachable"


def test_live_event_counts_are_for_staff_only(
    http: httpx.Client, api_keys: dict[str, str], loaded_engine: Engine, served: Served
) -> None:
    """Per-source totals change as events arrive: the public would learn when they happen."""
    assert "events" not in http.get("/health").json()
    assert "events" not in http.get("/health", headers=headers_for("partner", api_keys)).json()
    body = http.get("/health", headers=headers_for("analyst", api_keys)).json()
    assert body["events"] == {
        slug: {"total": total, "located": located}
        for slug, (total, located) in counted_per_source(loaded_engine).items()
    }
    assert body["events"]["test_served"]["total"] == served.total > 0


def test_a_database_restart_costs_one_503_then_the_pool_heals(
    loaded_engine: Engine, settings: Settings
) -> None:
    """No ping before each checkout (it cost more than the query it guards): a connection
    killed under the server fails its next statement once, with a 503 a client can retry.
    The server has a pool of its own (its URL names it), so only its connections are killed."""
    name = "geotranquil_restart_test"
    own = settings.model_copy(
        update={"database_url": f"{settings.database_url}?application_name={name}"}
    )
    from fastapi.testclient import TestClient

    with TestClient(create_app(own)) as client:
        assert client.get("/collections").status_code == 200  # its pool holds a connection
        with psycopg.connect(psycopg_dsn(settings.database_url), autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                [name],
            ).fetchone()
        assert killed is not None and killed[0] >= 1
        first = client.get("/collections")
        assert first.status_code == 503, first.text
        assert first.headers["Retry-After"] == "1"
        assert "réessayez" in first.json()["description"]
        assert client.get("/collections").status_code == 200  # every dead connection replaced
