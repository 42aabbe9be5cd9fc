"""Staff sign-in against a real OpenID Connect provider (LemonLDAP::NG from Debian).

The provider is started by ``scripts/oidc.sh`` from the session fixture ``provider`` when it
is not answering (idempotent; it installs the Debian packages on a fresh machine). A provider
that cannot be started fails the tests, in CI and elsewhere: they never skip.

geotranquil is served for real on 127.0.0.1:8481, the address the provider accepts to send
people back to (declared by ``scripts/oidc.sh``), with the API tests' data set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import Engine

from geotranquil.config import Settings
from tests.api.conftest import api_keys, served, served_session  # noqa: F401
from tests.live_server import live_server
from tests.oidc.provider import APP_PORT, ProviderInfo, start_provider


@pytest.fixture(scope="session")
def provider() -> ProviderInfo:
    return start_provider()


@pytest.fixture(scope="session")
def oidc_settings(settings: Settings, provider: ProviderInfo) -> Settings:
    return settings.model_copy(
        update={
            "oidc_issuer": provider.issuer,
            "oidc_client_id": provider.client_id,
            "oidc_client_secret": provider.client_secret,
            "oidc_leeway_s": 0,  # an expired token is refused as soon as it expires
        }
    )


@pytest.fixture(scope="session")
def oidc_server(oidc_settings: Settings, loaded_engine: Engine) -> Iterator[str]:
    with live_server(oidc_settings, port=APP_PORT) as url:
        yield url


@pytest.fixture
def app_http(oidc_server: str) -> Iterator[httpx.Client]:
    """A client of geotranquil without cookies (API calls with tokens or keys)."""
    with httpx.Client(base_url=oidc_server, timeout=30) as client:
        yield client


@pytest.fixture
def browser_like() -> Iterator[httpx.Client]:
    """A client keeping cookies across geotranquil and the provider, following nothing by
    itself (each redirect is followed by ``provider.sign_in``)."""
    with httpx.Client(timeout=30, follow_redirects=False) as client:
        yield client


@pytest.fixture
def file_dumping(
    oidc_server: str,
    api_keys: dict[str, str],  # noqa: F811
) -> Callable[[str, str, str], str]:
    """Files, as the partner does over Open311, a report of dumped waste at ``lat``, ``long``
    with ``description``, and gives its ``service_request_id``."""

    def file(lat: str, long: str, description: str) -> str:
        filed = httpx.post(
            f"{oidc_server}/open311/v2/requests.json",
            data={
                "api_key": api_keys["partner"],
                "service_code": "depot_sauvage",
                "lat": lat,
                "long": long,
                "description": description,
            },
            timeout=30,
        )
        assert filed.status_code == 201, filed.text
        return str(filed.json()[0]["service_request_id"])

    return file
