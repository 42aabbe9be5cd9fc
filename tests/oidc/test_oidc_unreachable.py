"""A provider that does not answer: clean French 503s, API keys and the public unaffected."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from geotranquil.api.app import create_app
from geotranquil.config import Settings
from tests.api.served import Served, event_count
from tests.live_server import free_port

UNSIGNED_LOOKING = "eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


@pytest.fixture
def app_without_provider(settings: Settings, loaded_engine: Engine) -> Iterator[TestClient]:
    silent = settings.model_copy(
        update={
            "oidc_issuer": f"http://127.0.0.1:{free_port()}",  # nothing listens there
            "oidc_client_secret": "secret",
            "oidc_timeout_s": 2.0,
        }
    )
    with TestClient(create_app(silent), follow_redirects=False) as client:
        yield client


def test_sign_in_says_the_provider_is_unreachable(app_without_provider: TestClient) -> None:
    response = app_without_provider.get("/auth/connexion", params={"retour": "/carte"})
    assert response.status_code == 503
    assert response.json()["description"].startswith(
        "le fournisseur d'identité de la Ville ne répond pas"
    )
    assert app_without_provider.get("/auth/session").json() == {
        "configured": True,
        "signed_in": False,
    }


def test_a_token_cannot_be_checked_but_keys_still_work(
    app_without_provider: TestClient,
    api_keys: dict[str, str],
    served: Served,
    loaded_engine: Engine,
) -> None:
    refused = app_without_provider.get(
        "/collections/events/items",
        params={"limit": 1},
        headers={"Authorization": f"Bearer {UNSIGNED_LOOKING}"},
    )
    assert refused.status_code == 503
    assert "ne répond pas" in refused.json()["description"]
    with_key = app_without_provider.get(
        "/collections/events/items", params={"limit": 1}, headers={"X-API-Key": api_keys["analyst"]}
    )
    assert with_key.status_code == 200
    assert with_key.json()["numberMatched"] == event_count(loaded_engine)
    assert app_without_provider.get("/collections").status_code == 200  # the public


def test_without_a_provider_the_sign_in_routes_say_so(
    settings: Settings, loaded_engine: Engine
) -> None:
    with TestClient(create_app(settings), follow_redirects=False) as client:
        assert client.get("/auth/session").json() == {"configured": False, "signed_in": False}
        response = client.get("/auth/connexion")
        assert response.status_code == 404
        assert "n'est pas configurée" in response.json()["description"]
        out = client.get("/auth/deconnexion", params={"retour": "/traitement"})
        assert out.status_code == 303 and out.headers["location"] == "/traitement"
