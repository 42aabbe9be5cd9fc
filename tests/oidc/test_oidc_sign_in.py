"""The pages' sign-in: authorization code + PKCE through the provider's own login form."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import Engine, text

from tests.api.served import Served, event_count
from tests.api.test_tiles import tile_xy
from tests.audit_helpers import last_id, rows_after
from tests.integration.ingest_helpers import RUE_DE_ROME
from tests.oidc.provider import ProviderInfo, sign_in


def test_an_analyst_signs_in_and_sees_staff_data(
    oidc_server: str,
    browser_like: httpx.Client,
    provider: ProviderInfo,
    served: Served,
    loaded_engine: Engine,
) -> None:
    start = browser_like.get(f"{oidc_server}/auth/connexion", params={"retour": "/traitement"})
    assert start.status_code == 302
    authorize = urlsplit(start.headers["location"])
    query = parse_qs(authorize.query)
    assert f"{authorize.scheme}://{authorize.netloc}" == provider.issuer
    assert authorize.path == "/oauth2/authorize"
    assert query["response_type"] == ["code"] and query["client_id"] == ["geotranquil"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["redirect_uri"] == [f"{oidc_server}/auth/retour"]

    before = last_id(loaded_engine)
    page = sign_in(browser_like, f"{oidc_server}/auth/connexion?retour=/traitement", "rtyler")
    assert page.status_code == 200
    assert str(page.url) == f"{oidc_server}/traitement"
    signed = [r for r in rows_after(loaded_engine, before) if r["action"] == "signed_in"]
    assert [(r["who"], r["role"], r["route"]) for r in signed] == [
        ("sso:rtyler", "analyst", "/auth/retour")
    ]
    assert "Traitement des signalements" in page.text

    session = browser_like.get(f"{oidc_server}/auth/session").json()
    assert session == {
        "configured": True,
        "signed_in": True,
        "subject": "rtyler",
        "name": "Rose Tyler",
        "role": "analyst",
        "role_label": "analyste",
    }
    # the session cookie alone (no key, no token) opens the analysts' data
    events = browser_like.get(f"{oidc_server}/collections/events/items", params={"limit": 1}).json()
    assert events["numberMatched"] == event_count(loaded_engine)
    assert browser_like.get(f"{oidc_server}/signalements").json()["role"] == "analyst"
    # the map's tiles of raw events too, kept out of shared caches and varying with the cookie
    x, y = tile_xy(*RUE_DE_ROME, 15)
    tile = browser_like.get(f"{oidc_server}/tiles/events/15/{x}/{y}.mvt")
    assert tile.status_code == 200
    assert tile.headers["Cache-Control"].startswith("private")
    assert "Cookie" in tile.headers["Vary"]
    assert httpx.get(f"{oidc_server}/tiles/events/15/{x}/{y}.mvt").status_code == 401
    cookie = next(c for c in browser_like.cookies.jar if c.name == "geotranquil_session")
    assert cookie.has_nonstandard_attr("httponly")
    assert "access_token" not in browser_like.get(f"{oidc_server}/auth/session").text


def test_a_planner_signed_in_is_refused_raw_events(
    oidc_server: str, browser_like: httpx.Client, provider: ProviderInfo, served: Served
) -> None:
    page = sign_in(browser_like, f"{oidc_server}/auth/connexion?retour=/carte", "msmith")
    assert str(page.url) == f"{oidc_server}/carte"
    assert browser_like.get(f"{oidc_server}/auth/session").json()["role"] == "planner"
    refused = browser_like.get(f"{oidc_server}/collections/events/items", params={"limit": 1})
    assert refused.status_code == 403
    assert refused.json()["description"] == (
        "la collection « events » n'est pas accessible au rôle planner"
    )
    assert browser_like.get(f"{oidc_server}/signalements").status_code == 403


def test_an_agent_signed_in_moves_a_report_under_their_name(
    oidc_server: str,
    browser_like: httpx.Client,
    provider: ProviderInfo,
    file_dumping: Callable[[str, str, str], str],
    loaded_engine: Engine,
) -> None:
    sid = file_dumping("43.2961", "5.3811", "Sacs au pied du mur (test de connexion des agents)")
    sign_in(browser_like, f"{oidc_server}/auth/connexion?retour=/traitement", "cnoble")
    change = {"state": "in_progress", "notes": "Équipe prévenue."}
    # another site's page cannot use the agent's session to change anything
    forged = browser_like.patch(
        f"{oidc_server}/signalements/{sid}", json=change, headers={"Origin": "http://piege.example"}
    )
    assert forged.status_code == 403
    assert forged.json()["description"].startswith("requête envoyée par un autre site")
    moved = browser_like.patch(
        f"{oidc_server}/signalements/{sid}", json=change, headers={"Origin": oidc_server}
    )
    assert moved.status_code == 200, moved.text
    with loaded_engine.connect() as conn:
        who = conn.execute(
            text(
                "SELECT h.changed_by FROM service_request_history h "
                "JOIN service_requests r ON r.id = h.request_id "
                "WHERE r.service_request_id = :s AND h.to_state = 'in_progress'"
            ),
            {"s": sid},
        ).scalar_one()
    assert who == "cnoble"


def test_a_person_in_no_mapped_group_is_told_why(
    oidc_server: str, browser_like: httpx.Client, provider: ProviderInfo
) -> None:
    page = sign_in(browser_like, f"{oidc_server}/auth/connexion?retour=/traitement", "rwilliams")
    assert page.status_code == 403
    assert "Connexion refusée" in page.text
    assert "aucun de vos groupes" in page.text
    assert browser_like.get(f"{oidc_server}/auth/session").json() == {
        "configured": True,
        "signed_in": False,
    }
    # and the API treats this browser as the public
    refused = browser_like.get(f"{oidc_server}/collections/events/items", params={"limit": 1})
    assert refused.status_code == 401


def test_a_wrong_password_stays_at_the_provider(
    oidc_server: str, browser_like: httpx.Client, provider: ProviderInfo
) -> None:
    page = sign_in(
        browser_like, f"{oidc_server}/auth/connexion?retour=/carte", "rtyler", password="non"
    )
    # the provider shows its form again; geotranquil has no session
    assert str(page.url).startswith(provider.issuer)
    assert browser_like.get(f"{oidc_server}/auth/session").json()["signed_in"] is False


def test_sign_out_ends_both_sessions(
    oidc_server: str, browser_like: httpx.Client, provider: ProviderInfo
) -> None:
    sign_in(browser_like, f"{oidc_server}/auth/connexion?retour=/carte", "dwho")
    assert browser_like.get(f"{oidc_server}/auth/session").json()["role"] == "admin"
    out = browser_like.get(f"{oidc_server}/auth/deconnexion", params={"retour": "/traitement"})
    assert out.status_code == 302
    assert out.headers["location"].startswith(f"{provider.issuer}/oauth2/logout?")
    back = browser_like.get(out.headers["location"])
    assert back.headers["location"].startswith(f"{oidc_server}/auth/deconnecte")
    final = browser_like.get(back.headers["location"])
    assert final.status_code == 303 and final.headers["location"] == "/traitement"
    assert browser_like.get(f"{oidc_server}/auth/session").json()["signed_in"] is False
    # the provider's session is over too: signing in again asks for the password
    again = browser_like.get(f"{oidc_server}/auth/connexion")
    at_provider = browser_like.get(again.headers["location"])
    assert at_provider.status_code == 200 and 'id="lform"' in at_provider.text


def test_only_local_pages_after_sign_in(
    oidc_server: str, browser_like: httpx.Client, provider: ProviderInfo
) -> None:
    page = sign_in(
        browser_like, f"{oidc_server}/auth/connexion?retour=//ailleurs.example/piege", "rtyler"
    )
    assert str(page.url) == f"{oidc_server}/carte"


def test_a_callback_without_a_sign_in_is_refused(
    oidc_server: str, browser_like: httpx.Client, provider: ProviderInfo
) -> None:
    forged = browser_like.get(f"{oidc_server}/auth/retour", params={"code": "x", "state": "y"})
    assert forged.status_code == 401
    assert "n'a pas abouti" in forged.text
