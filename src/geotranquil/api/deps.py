"""Request dependencies, declared once: the application's services and the caller's role.

Every route declares its access with :func:`access`, which both enforces it and records it in
the OpenAPI document (``x-access``), so a test can walk the route table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.errors import Forbidden, NotAuthenticated
from geotranquil.features.catalogue import Catalogue, Collection
from geotranquil.roles import Access, Role
from geotranquil.services.access import Caller, KeyResolver
from geotranquil.services.catalogue import CatalogueCache
from geotranquil.services.features import find_collection
from geotranquil.services.tilecache import SharedTileCache, TileCache

KEY_HEADER = "X-API-Key"


@dataclass
class Services:
    """What the routes need, built once by ``create_app``."""

    settings: Settings
    engine: Engine
    keys: KeyResolver
    catalogue: CatalogueCache
    tiles: TileCache | SharedTileCache


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_caller(request: Request) -> Caller:
    """The caller, from ``X-API-Key``, ``Authorization: Bearer`` or the ``api_key`` parameter."""
    cached = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    key = request.headers.get(KEY_HEADER)
    auth = request.headers.get("Authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    if not key:
        key = request.query_params.get("api_key")
    caller = get_services(request).keys.caller(key)
    request.state.caller = caller
    return caller


ServicesDep = Annotated[Services, Depends(get_services)]
CallerDep = Annotated[Caller, Depends(get_caller)]


def readable_collection(
    services: Services, caller: Caller, collection_id: str
) -> tuple[Catalogue, Collection]:
    """The current catalogue and a collection of it the caller may read (401/403/404 else)."""
    _, catalogue = services.catalogue.get()
    found = find_collection(
        engine=services.engine, catalogue=catalogue, collection_id=collection_id, role=caller.role
    )
    return catalogue, found


def _guard(allowed: Access) -> Any:
    def check(caller: CallerDep) -> None:
        if allowed.allows(caller.role):
            return
        if caller.role is Role.PUBLIC:
            raise NotAuthenticated(
                "cette ressource demande une clé API (en-tête X-API-Key) d'un rôle autorisé : "
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
