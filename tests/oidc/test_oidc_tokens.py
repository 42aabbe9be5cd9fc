"""Access tokens of the City's provider on the API: checked for real, mapped to roles."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import Engine

from tests.api.served import Served, event_count
from tests.oidc.provider import ProviderInfo, password_token


def _b64(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _part(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def _unverified_header(token: str) -> dict[str, Any]:
    return _part(token, 0)


def _unverified_claims(token: str) -> dict[str, Any]:
    return _part(token, 1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def access_token(provider: ProviderInfo, user: str, client_id: str | None = None) -> str:
    return str(password_token(provider, user, client_id=client_id)["access_token"])


def events_matched(http: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    return http.get("/collections/events/items", params={"limit": 1}, headers=headers)


def test_an_analysts_token_reads_the_events(
    app_http: httpx.Client, provider: ProviderInfo, served: Served, loaded_engine: Engine
) -> None:
    token = access_token(provider, "rtyler")
    response = events_matched(app_http, bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["numberMatched"] == event_count(loaded_engine)


def test_an_admins_token_reads_the_events_too(
    app_http: httpx.Client, provider: ProviderInfo, served: Served, loaded_engine: Engine
) -> None:
    response = events_matched(app_http, bearer(access_token(provider, "dwho")))
    assert response.status_code == 200
    assert response.json()["numberMatched"] == event_count(loaded_engine)


def test_a_planners_token_is_refused_the_events_but_reads_aggregates(
    app_http: httpx.Client, provider: ProviderInfo, served: Served
) -> None:
    token = access_token(provider, "msmith")
    refused = events_matched(app_http, bearer(token))
    assert refused.status_code == 403
    assert refused.json()["description"] == (
        "la collection « events » n'est pas accessible au rôle planner"
    )
    listed = app_http.get("/collections", headers=bearer(token)).json()["collections"]
    ids = {c["id"] for c in listed}
    assert "zones" in ids and "events" not in ids


def test_an_agents_token_reads_the_residents_reports(
    app_http: httpx.Client, provider: ProviderInfo, served: Served
) -> None:
    token = access_token(provider, "cnoble")
    page = app_http.get("/signalements", headers=bearer(token))
    assert page.status_code == 200
    assert page.json()["role"] == "agent"
    assert events_matched(app_http, bearer(token)).status_code == 403


def test_a_person_in_no_mapped_group_is_refused(
    app_http: httpx.Client, provider: ProviderInfo, served: Served
) -> None:
    response = events_matched(app_http, bearer(access_token(provider, "rwilliams")))
    assert response.status_code == 403
    description = response.json()["description"]
    assert "aucun de vos groupes" in description and "administrateur" in description
    # not even the public's figures with this token: the refusal is about the person
    again = bearer(access_token(provider, "rwilliams"))
    assert app_http.get("/collections", headers=again).status_code == 403


def test_an_expired_token_is_401(app_http: httpx.Client, provider: ProviderInfo) -> None:
    # a client of the provider whose tokens live one second and are meant for geotranquil too
    token = access_token(provider, "rtyler", client_id="geotranquil-court")
    expires = _unverified_claims(token)["exp"]
    while time.time() <= expires + 1:  # wait for the clock to pass the expiry, not a guess
        time.sleep(0.1)
    response = events_matched(app_http, bearer(token))
    assert response.status_code == 401
    assert response.json()["description"].startswith("jeton d'accès expiré")
    assert "Bearer" in response.headers["WWW-Authenticate"]


def test_a_token_for_another_application_is_401(
    app_http: httpx.Client, provider: ProviderInfo
) -> None:
    token = access_token(provider, "rtyler", client_id="autre-application")
    assert _unverified_claims(token)["aud"] == ["autre-application"]
    response = events_matched(app_http, bearer(token))
    assert response.status_code == 401
    assert response.json()["description"].startswith(
        "jeton d'accès destiné à une autre application (audience attendue : geotranquil)"
    )


def test_a_forged_token_is_401(app_http: httpx.Client, provider: ProviderInfo) -> None:
    real = access_token(provider, "rwilliams")
    header = _unverified_header(real)
    claims = {**_unverified_claims(real), "groups": ["geotranquil-administrateurs"]}
    # signed with a key of our own under the provider's key id
    forged = jwt.encode(
        {"alg": "RS256", "kid": header["kid"]},
        claims,
        RSAKey.generate_key(2048, parameters={"kid": header["kid"]}),
    )
    response = events_matched(app_http, bearer(forged))
    assert response.status_code == 401
    assert "signature" in response.json()["description"]
    # under a key id the provider never published (the keys are fetched again, then refused)
    stranger = jwt.encode(
        {"alg": "RS256", "kid": "inconnue"},
        claims,
        RSAKey.generate_key(2048, parameters={"kid": "inconnue"}),
    )
    response = events_matched(app_http, bearer(stranger))
    assert response.status_code == 401
    assert "signature" in response.json()["description"]
    # the real signature over altered claims
    head, _, signature = real.split(".")
    tampered = ".".join([head, _b64(claims), signature])
    response = events_matched(app_http, bearer(tampered))
    assert response.status_code == 401
    assert "signature" in response.json()["description"]
    # an unsigned token ("alg": "none")
    unsigned = ".".join([_b64({"alg": "none", "typ": "JWT"}), _b64(claims), ""])
    response = events_matched(app_http, bearer(unsigned))
    assert response.status_code == 401
    assert response.json()["description"].startswith("jeton d'accès illisible")


def test_api_keys_still_work_beside_tokens(
    app_http: httpx.Client, api_keys: dict[str, str], served: Served, loaded_engine: Engine
) -> None:
    for headers in ({"X-API-Key": api_keys["analyst"]}, bearer(api_keys["analyst"])):
        response = events_matched(app_http, headers)
        assert response.status_code == 200
        assert response.json()["numberMatched"] == event_count(loaded_engine)
    by_query = app_http.get(
        "/collections/events/items", params={"limit": 1, "api_key": api_keys["analyst"]}
    )
    assert by_query.json()["numberMatched"] == event_count(loaded_engine)
    assert events_matched(app_http, {"X-API-Key": api_keys["planner"]}).status_code == 403
    unknown = events_matched(app_http, bearer("gtq_unknown"))
    assert unknown.status_code == 401
    assert unknown.json()["description"].startswith("clé API inconnue")
    assert events_matched(app_http, {}).status_code == 401
