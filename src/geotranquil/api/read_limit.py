"""The read rate limit: GET requests of the public and partners, per client address, shared.

Staff keys are not limited here (their reads are audited and their keys can be revoked); the
anonymous public, partners and callers with an unknown key are, per client address
(:mod:`geotranquil.api.client_address`), with ``GEOTRANQUIL_READ_RATE_PER_MINUTE`` and
``GEOTRANQUIL_READ_RATE_BURST``. The buckets are in Redis, so N workers allow one limit in all.
Beyond it: 429, ``Retry-After`` and a French message.
"""

from __future__ import annotations

import math

from starlette.requests import Request

from geotranquil.api.client_address import client_address
from geotranquil.api.deps import get_caller
from geotranquil.errors import NotAuthenticated, TooManyRequests
from geotranquil.roles import Role
from geotranquil.services.ratelimit import Buckets

LIMITED_ROLES = frozenset({Role.PUBLIC, Role.PARTNER})
READ_METHODS = frozenset({"GET", "HEAD"})


def read_limit(request: Request) -> None:
    """Take one token for the client of a public or partner GET; 429 when there is none."""
    if request.method not in READ_METHODS:
        return
    refused: NotAuthenticated | None = None
    try:
        role = get_caller(request).role
    except NotAuthenticated as exc:  # unknown keys are counted too, then refused
        role, refused = Role.PUBLIC, exc
    if role in LIMITED_ROLES:
        buckets: Buckets = request.app.state.read_limit
        wait = buckets.take(client_address(request) or "?")
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise TooManyRequests(
                f"trop de requêtes depuis votre adresse : réessayez dans {seconds} s "
                "(les clés API des services de la Ville ne sont pas limitées)",
                retry_after=seconds,
            )
    if refused is not None:
        raise refused
