"""Opaque access tokens (LemonLDAP::NG's default), checked by introspection at the provider."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from geotranquil.api.app import create_app
from geotranquil.config import Settings
from tests.api.served import Served, event_count
from tests.oidc.provider import ProviderInfo, password_token

OPAQUE_CLIENT = "geotranquil-opaque"


def opaque(provider: ProviderInfo, user: str) -> dict[str, str]:
    token = password_token(provider, user, client_id=OPAQUE_CLIENT)["access_token"]
    assert "." not in token  # not a JWT: only the provider can tell what it stands for
    return {"Authorization": f"Bearer {token}"}


def _client(oidc_settings: Settings, audience: str) -> TestClient:
    settings = oidc_settings.model_copy(
        update={"oidc_introspection": True, "oidc_audience": audience}
    )
    return TestClient(create_app(settings))


@pytest.fixture
def for_opaque(oidc_settings: Settings, loaded_engine: Engine) -> Iterator[TestClient]:
    """geotranquil accepting the opaque tokens issued to its client ``geotranquil-opaque``."""
    with _client(oidc_settings, OPAQUE_CLIENT) as client:
        yield client


def items(client: TestClient, headers: dict[str, str]) -> httpx.Response:
    return client.get("/collections/events/items", params={"limit": 1}, headers=headers)


def test_opaque_tokens_map_to_roles(
    for_opaque: TestClient, provider: ProviderInfo, served: Served, loaded_engine: Engine
) -> None:
    analyst = items(for_opaque, opaque(provider, "rtyler"))
    assert analyst.status_code == 200
    assert analyst.json()["numberMatched"] == event_count(loaded_engine)
    planner = items(for_opaque, opaque(provider, "msmith"))
    assert planner.status_code == 403
    unmapped = items(for_opaque, opaque(provider, "rwilliams"))
    assert unmapped.status_code == 403
    assert "aucun de vos groupes" in unmapped.json()["description"]


def test_an_unknown_opaque_token_is_401_and_keys_still_work(
    for_opaque: TestClient,
    provider: ProviderInfo,
    api_keys: dict[str, str],
    served: Served,
    loaded_engine: Engine,
) -> None:
    unknown = items(for_opaque, {"Authorization": "Bearer 0123456789abcdef0123456789abcdef"})
    assert unknown.status_code == 401
    assert unknown.json()["description"].startswith("jeton d'accès inconnu, expiré ou révoqué")
    key = items(for_opaque, {"Authorization": f"Bearer {api_keys['analyst']}"})
    assert key.status_code == 200 and key.json()["numberMatched"] == event_count(loaded_engine)
    # a JWT of geotranquil's main client is not meant for this audience
    jwt = password_token(provider, "rtyler")["access_token"]
    other = items(for_opaque, {"Authorization": f"Bearer {jwt}"})
    assert other.status_code == 401
    assert "autre application" in other.json()["description"]


def test_an_opaque_token_of_another_client_is_401(
    oidc_settings: Settings, loaded_engine: Engine, provider: ProviderInfo
) -> None:
    with _client(oidc_settings, "geotranquil") as client:
        refused = items(client, opaque(provider, "rtyler"))
    assert refused.status_code == 401
    assert refused.json()["description"].startswith(
        "jeton d'accès destiné à une autre application (audience attendue : geotranquil)"
    )
