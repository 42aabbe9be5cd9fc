"""Request dependencies, declared once: the application's services and the caller's role.

Every route declares its access with :func:`access`, which both enforces it and records it in
the OpenAPI document (``x-access``), so a test can walk the route table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.errors import Forbidden, NotAuthenticated
from geotranquil.features.catalogue import Catalogue, Collection
from geotranquil.roles import Access, Role
from geotranquil.services.access import Caller, KeyResolver
from geotranquil.services.basemap import BasemapChecker
from geotranquil.services.catalogue import CatalogueCache
from geotranquil.services.features import find_collection
from geotranquil.services.sso import TokenVerifier, looks_like_jwt
from geotranquil.services.tilecache import SharedTileCache, TileCache

KEY_HEADER = "X-API-Key"
#: where the signed session cookie keeps the person signed in through the City's account
SESSION_KEY = "sso"


@dataclass(frozen=True)
class Reader:
    """Where the read-only API reads: an engine and the catalogue (with the data version that
    keys the caches) read through that same engine, so that a replica that lags behind never
    has its older data cached under the primary's newer version."""

    engine: Engine
    catalogue: CatalogueCache


@dataclass
class Services:
    """What the routes need, built once by ``create_app``.

    ``engine`` and ``catalogue`` are the primary's: writes, and reads that must see their own
    writes (push batches, admin, keys, Open311, audit trail). ``reader`` is where the read-only
    API reads (:func:`get_reader`): the read replica when ``read_database_url`` is set.
    """

    settings: Settings
    engine: Engine
    keys: KeyResolver
    catalogue: CatalogueCache
    tiles: TileCache | SharedTileCache
    reader: Reader
    sso: TokenVerifier | None = None  # the City's single sign-on, when configured
    basemap: BasemapChecker | None = None  # the optional base map, checked before it is named


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_reader(request: Request) -> Reader:
    """The engine of the read-only public and analyst API (collections, items, tiles, exports,
    polygon reports, analysis layers): the read replica when one is configured, else the
    primary. The one place where a route's reads are sent to one database or the other."""
    return get_services(request).reader


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_caller(request: Request) -> Caller | None:
    """The person signed in on this browser with the City's account (signed session cookie).

    A change (POST, PATCH...) sent by a page of another site with the person's cookie is
    refused (its ``Origin`` is not this server's): the cookie alone never authorises it.
    """
    if "session" not in request.scope:
        return None
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    try:
        caller = Caller(Role(data["role"]), subject=str(data["sub"]))
    except (KeyError, ValueError):
        request.session.pop(SESSION_KEY, None)
        return None
    origin = request.headers.get("Origin")
    foreign = origin is not None and urlsplit(origin).netloc != request.headers.get("Host")
    if request.method not in SAFE_METHODS and foreign:
        raise Forbidden(
            "requête envoyée par un autre site avec votre session du compte Ville : refusée"
        )
    return caller


def get_caller(request: Request) -> Caller:
    """The caller, from ``X-API-Key``, ``Authorization: Bearer`` (an API key, or an access
    token of the City's single sign-on), the ``api_key`` parameter, or else the session of a
    person signed in on the pages with the City's account."""
    cached = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    services = get_services(request)
    key = request.headers.get(KEY_HEADER)
    auth = request.headers.get("Authorization", "")
    caller: Caller | None = None
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
        if services.sso is not None and looks_like_jwt(key):
            caller = services.sso.caller(key)
        elif services.sso is not None and services.sso.accepts_opaque(key):
            caller = services.sso.opaque_caller(key)
    if caller is None and not key:
        key = request.query_params.get("api_key")
        if not key:
            caller = session_caller(request)
    if caller is None:
        caller = services.keys.caller(key)
    request.state.caller = caller
    return caller


ServicesDep = Annotated[Services, Depends(get_services)]
CallerDep = Annotated[Caller, Depends(get_caller)]
ReaderDep = Annotated[Reader, Depends(get_reader)]


def readable_collection(
    reader: Reader, caller: Caller, collection_id: str
) -> tuple[Catalogue, Collection]:
    """The current catalogue and a collection of it the caller may read (401/403/404 else)."""
    _, catalogue = reader.catalogue.get()
    found = find_collection(
        engine=reader.engine, catalogue=catalogue, collection_id=collection_id, role=caller.role
    )
    return catalogue, found


def _guard(allowed: Access) -> Any:
    def check(caller: CallerDep) -> None:
        if allowed.allows(caller.role):
            return
        if caller.role is Role.PUBLIC:
            raise NotAuthenticated(
                "cette ressource demande une clé API (en-tête X-API-Key) ou une connexion avec "
                "le compte Ville, d'un rôle autorisé : "
                f"{', '.join(sorted(r.value for r in allowed))}"
            )
        raise Forbidden(
            f"le rôle {caller.role.value} n'a pas accès à cette ressource ; rôles autorisés : "
            f"{', '.join(sorted(r.value for r in allowed))}"
        )

    return check


def access(allowed: Access, *, per_collection: bool = False) -> dict[str, Any]:
    """Route keyword arguments that enforce ``allowed`` and document it as ``x-access``.

    ``per_collection``: the route is open to ``allowed`` and then checks the collection's own
    access (documented as ``x-access-per-collection``).
    """
    extra: dict[str, Any] = {"x-access": allowed.name}
    if per_collection:
        extra["x-access-per-collection"] = True
    return {"dependencies": [Depends(_guard(allowed))], "openapi_extra": extra}
