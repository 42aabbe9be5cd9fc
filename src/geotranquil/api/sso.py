"""Staff sign-in on the pages through the City's single sign-on (OpenID Connect).

Authorization code flow with PKCE (``S256``) by Authlib: ``/auth/connexion`` sends the person
to the provider, ``/auth/retour`` takes the code back, checks the ID token and maps the
person's groups to a role; the person (subject, name, role) is then kept in a signed session
cookie (``geotranquil_session``, HttpOnly, SameSite=Lax); no token is handed to the page.
``/auth/deconnexion`` ends both sessions (the provider's through its end-session endpoint).
The API reads that session when a request carries no key (see ``deps.get_caller``).
"""

from __future__ import annotations

import hashlib
import hmac
import html
from typing import Any

import httpx
from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware

from geotranquil.api.audit import client_of, route_of
from geotranquil.api.deps import SESSION_KEY, ServicesDep, access, session_caller
from geotranquil.api.errors import status_for
from geotranquil.config import Settings
from geotranquil.errors import GeotranquilError, NotAuthenticated, NotFound, NotReady
from geotranquil.roles import EVERYONE
from geotranquil.services import audit
from geotranquil.services.sso import Person, TokenVerifier

router = APIRouter(tags=["Connexion des agents"])

SESSION_COOKIE = "geotranquil_session"
PROVIDER = "ville"
ROLE_NAMES = {
    "admin": "administrateur",
    "analyst": "analyste",
    "agent": "agent",
    "planner": "urbaniste",
    "partner": "partenaire",
}


def session_secret(settings: Settings) -> str:
    """The key signing session cookies: the setting, or one derived from the client secret
    (the same in every worker and on every host sharing the settings)."""
    if settings.oidc_session_secret:
        return settings.oidc_session_secret
    secret = (settings.oidc_client_secret or "").encode("utf-8")
    return hmac.new(secret, b"geotranquil session cookie", hashlib.sha256).hexdigest()


def install(app: FastAPI, settings: Settings) -> TokenVerifier | None:
    """Set up the single sign-on when a provider is configured: the session cookie, the
    OpenID Connect client, the access-token verifier (returned)."""
    app.include_router(router)
    if not settings.oidc_issuer:
        return None
    verifier = TokenVerifier(settings)
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie=SESSION_COOKIE,
        max_age=settings.oidc_session_max_age_s,
        same_site="lax",
        https_only=settings.oidc_cookie_secure,
    )
    oauth = OAuth()
    oauth.register(
        PROVIDER,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        server_metadata_url=verifier.provider.discovery_url,
        client_kwargs={
            "scope": settings.oidc_scopes,
            "code_challenge_method": "S256",
            "timeout": settings.oidc_timeout_s,
        },
    )
    app.state.oauth = oauth
    return verifier


def _client(request: Request) -> Any:
    oauth: OAuth | None = getattr(request.app.state, "oauth", None)
    if oauth is None:
        raise NotFound(
            "la connexion avec le compte Ville n'est pas configurée sur ce serveur "
            "(GEOTRANQUIL_OIDC_ISSUER) : connectez-vous avec une clé API"
        )
    return oauth.create_client(PROVIDER)


def _unreachable(exc: Exception) -> NotReady:
    return NotReady(
        "le fournisseur d'identité de la Ville ne répond pas : réessayez dans un instant, ou "
        "connectez-vous avec une clé API"
    )


def _local(path: str | None, default: str = "/carte") -> str:
    """A path of this site to come back to (never another site: no open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    return path


def _callback_url(request: Request, settings: Settings, name: str, suffix: str) -> str:
    if settings.oidc_redirect_url:
        base = settings.oidc_redirect_url.rsplit("/auth/", 1)[0]
        return f"{base}/auth/{suffix}"
    return str(request.url_for(name))


def _page(status: int, title: str, text: str, back: str) -> HTMLResponse:
    body = f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{html.escape(title)} — geotranquil</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>{html.escape(title)}</h1>
<p id="raison">{html.escape(text, quote=False)}</p>
<p><a href="{html.escape(back)}">Revenir à la page</a> ·
<a href="/auth/deconnexion?retour={html.escape(back)}">Se déconnecter du compte Ville</a></p>
</body></html>
"""
    return HTMLResponse(body, status_code=status)


@router.get(
    "/auth/connexion",
    summary="Sign in with the City's account (OpenID Connect, redirects to the provider)",
    **access(EVERYONE),
)
async def sign_in(request: Request, services: ServicesDep, retour: str = "/carte") -> Response:
    client = _client(request)  # first: 404 when no provider is configured (no session then)
    request.session["retour"] = _local(retour)
    redirect = _callback_url(request, services.settings, "sso_callback", "retour")
    try:
        response: Response = await client.authorize_redirect(request, redirect)
    except OAuthError as exc:
        raise NotAuthenticated(f"connexion impossible : {exc.description or exc.error}") from exc
    except (httpx.HTTPError, ValueError) as exc:
        raise _unreachable(exc) from exc
    return response


@router.get(
    "/auth/retour",
    name="sso_callback",
    summary="Where the provider sends the person back (authorization code)",
    include_in_schema=False,
    **access(EVERYONE),
)
async def callback(request: Request, services: ServicesDep) -> Response:
    back = _local(request.session.get("retour"))
    try:
        client = _client(request)
        if services.sso is None:
            raise NotFound("connexion avec le compte Ville non configurée")
        try:
            token = await client.authorize_access_token(request)
            claims = dict(token.get("userinfo") or {})
            if services.sso.claim.split(".")[0] not in claims:  # groups only in the userinfo
                claims.update(await client.userinfo(token=token))
        except OAuthError as exc:
            raise NotAuthenticated(
                "la connexion avec le compte Ville n'a pas abouti "
                f"({exc.error or 'erreur'}) : recommencez depuis la page"
            ) from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise _unreachable(exc) from exc
        person: Person = services.sso.person(claims)
    except GeotranquilError as exc:
        request.session.pop(SESSION_KEY, None)
        return _page(status_for(exc), "Connexion refusée", str(exc), back)
    request.session.pop("retour", None)
    await run_in_threadpool(
        audit.record_sign_in,
        services.engine,
        caller=person.caller,
        route=route_of(request),
        client=client_of(request),
    )
    request.session[SESSION_KEY] = {
        "sub": person.subject,
        "name": person.name,
        "role": person.role.value,
        "id_token": token.get("id_token"),
    }
    return RedirectResponse(back, status_code=303)


@router.get(
    "/auth/deconnexion",
    summary="Sign out (this site and the City's single sign-on)",
    **access(EVERYONE),
)
async def sign_out(request: Request, services: ServicesDep, retour: str = "/carte") -> Response:
    back = _local(retour)
    if "session" not in request.scope:
        return RedirectResponse(back, status_code=303)
    data = request.session.get(SESSION_KEY) or {}
    request.session.clear()
    request.session["retour"] = back
    id_token = data.get("id_token") if isinstance(data, dict) else None
    client = _client(request)
    try:
        metadata = await client.load_server_metadata()
    except (httpx.HTTPError, ValueError):  # signed out here; the provider's session stays
        return RedirectResponse(back, status_code=303)
    if not id_token or not metadata.get("end_session_endpoint"):
        return RedirectResponse(back, status_code=303)
    after = _callback_url(request, services.settings, "sso_signed_out", "deconnecte")
    response: Response = await client.logout_redirect(
        request, post_logout_redirect_uri=after, id_token_hint=id_token
    )
    return response


@router.get(
    "/auth/deconnecte",
    name="sso_signed_out",
    include_in_schema=False,
    **access(EVERYONE),
)
def signed_out(request: Request) -> RedirectResponse:
    if "session" not in request.scope:
        return RedirectResponse("/carte", status_code=303)
    back = _local(request.session.get("retour"))
    request.session.clear()  # the logout's state too: nothing is left of the sign-in
    return RedirectResponse(back, status_code=303)


@router.get(
    "/auth/session",
    summary="Who is signed in on this browser through the City's account",
    **access(EVERYONE),
)
def who(request: Request, services: ServicesDep) -> JSONResponse:
    configured = services.sso is not None
    data = request.session.get(SESSION_KEY) if "session" in request.scope else None
    body: dict[str, Any] = {"configured": configured, "signed_in": False}
    if isinstance(data, dict) and session_caller(request) is not None:
        body.update(
            signed_in=True,
            subject=data["sub"],
            name=data.get("name") or data["sub"],
            role=data["role"],
            role_label=ROLE_NAMES.get(data["role"], data["role"]),
        )
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
