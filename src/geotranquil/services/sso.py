"""Staff signed in through the City's single sign-on (OpenID Connect).

Access tokens sent to the API (``Authorization: Bearer <JWT>``) are checked here: signature
against the provider's published keys (JWKS), issuer, audience and expiry; opaque ones, when
``oidc_introspection`` is on, at the provider's introspection endpoint. The person's role
comes from a claim (``oidc_role_claim``, e.g. ``groups``) through the configured mapping
(``oidc_role_map``); a person in none of the mapped groups is refused (403).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
)
from joserfc.jwk import KeySet

from geotranquil.config import Settings
from geotranquil.db.keys import KEY_PREFIX
from geotranquil.errors import (
    Forbidden,
    GeotranquilError,
    InvalidInput,
    NotAuthenticated,
    NotReady,
)
from geotranquil.roles import Role
from geotranquil.services.access import Caller

#: roles from the most to the least privileged: a person in several groups gets the first
ROLE_ORDER = (Role.ADMIN, Role.ANALYST, Role.AGENT, Role.PLANNER, Role.PARTNER)
#: signature algorithms accepted on access tokens (never ``none`` nor a shared secret)
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
#: the provider's keys are fetched again at most this often when a token names an unknown key
KEYS_REFRESH_MIN_S = 10.0
#: the provider's discovery document and keys are trusted this long before being fetched again
METADATA_MAX_AGE_S = 3600.0

SIGN_IN_AGAIN = "reconnectez-vous avec votre compte Ville"


def claim_values(claims: Mapping[str, Any], path: str) -> list[str]:
    """The values of a claim, found by a dotted path, as a list of strings.

    Examples
    --------
    >>> claim_values({"groups": ["a", "b"]}, "groups")
    ['a', 'b']
    >>> claim_values({"realm_access": {"roles": ["analyst"]}}, "realm_access.roles")
    ['analyst']
    >>> claim_values({"groups": "a"}, "groups"), claim_values({}, "groups")
    (['a'], [])
    """
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return []
        value = value[part]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


def role_from_claims(
    claims: Mapping[str, Any], *, claim: str, mapping: Mapping[str, str]
) -> Role | None:
    """The role a person's claims give through ``mapping`` (the highest one), or None.

    Examples
    --------
    >>> mapping = {"agents": "agent", "analystes": "analyst"}
    >>> role_from_claims({"groups": ["users", "agents", "analystes"]}, claim="groups",
    ...                  mapping=mapping)
    <Role.ANALYST: 'analyst'>
    >>> role_from_claims({"groups": ["users"]}, claim="groups", mapping=mapping) is None
    True
    """
    found = {Role(mapping[v]) for v in claim_values(claims, claim) if v in mapping}
    return next((role for role in ROLE_ORDER if role in found), None)


def check_role_map(mapping: Mapping[str, str]) -> None:
    """Refuse a mapping naming an unknown role or the public one (a setting error).

    Examples
    --------
    >>> check_role_map({"analystes": "analyst"})
    >>> check_role_map({"x": "chef"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geotranquil.errors.InvalidInput: GEOTRANQUIL_OIDC_ROLE_MAP : rôle « chef » inconnu ...
    """
    allowed = {r.value for r in ROLE_ORDER}
    for group, role in mapping.items():
        if role not in allowed:
            raise InvalidInput(
                f"GEOTRANQUIL_OIDC_ROLE_MAP : rôle « {role} » inconnu pour le groupe « {group} » "
                f"(rôles possibles : {', '.join(sorted(allowed))})"
            )


def looks_like_jwt(token: str) -> bool:
    """Whether a bearer token is a signed JWT (an access token) rather than an API key.

    Examples
    --------
    >>> looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"), looks_like_jwt("gtq_abc")
    (True, False)
    """
    return token.startswith("eyJ") and token.count(".") == 2


@dataclass(frozen=True)
class Person:
    """A person signed in through the single sign-on, as the platform knows them."""

    subject: str
    name: str
    role: Role

    @property
    def caller(self) -> Caller:
        return Caller(self.role, subject=self.subject)


def unmapped_message(claim: str) -> str:
    return (
        f"votre compte Ville est reconnu, mais aucun de vos groupes (revendication « {claim} ») "
        "ne donne accès à geotranquil : demandez à l'administrateur de vous ajouter à un groupe "
        "d'accès (administrateurs, analystes, agents ou urbanistes)"
    )


class Provider:
    """The City's OpenID Connect provider: its discovery document and signing keys, cached.

    Thread-safe; the keys are fetched again when a token names a key not seen yet (key
    rotation), at most every ``KEYS_REFRESH_MIN_S`` seconds.
    """

    def __init__(self, settings: Settings) -> None:
        if not settings.oidc_issuer:
            raise NotReady("aucun fournisseur d'identité configuré (GEOTRANQUIL_OIDC_ISSUER)")
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.timeout = settings.oidc_timeout_s
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0
        self._lock = threading.Lock()

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def _get(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=self.timeout)
            response.raise_for_status()
            body: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise NotReady(
                f"le fournisseur d'identité de la Ville ne répond pas ({url}) : réessayez dans "
                "un instant ou utilisez une clé API"
            ) from exc
        return body

    def metadata(self) -> dict[str, Any]:
        """The discovery document (``/.well-known/openid-configuration``)."""
        with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_MAX_AGE_S:
                self._metadata = self._get(self.discovery_url)
                self._metadata_at = time.monotonic()
            return self._metadata

    def keys(self, *, refresh: bool = False) -> KeySet:
        """The provider's public keys; ``refresh`` fetches them again (rate-limited)."""
        jwks_uri = self.metadata()["jwks_uri"]
        with self._lock:
            age = time.monotonic() - self._keys_at
            stale = self._keys is None or age > METADATA_MAX_AGE_S
            if stale or (refresh and age > KEYS_REFRESH_MIN_S):
                self._keys = KeySet.import_key_set(self._get(jwks_uri))  # type: ignore[arg-type]
                self._keys_at = time.monotonic()
            assert self._keys is not None
            return self._keys


class TokenVerifier:
    """Checks access tokens and turns them into callers (role and subject).

    Signed (JWT) access tokens are checked locally against the provider's keys; opaque ones,
    when ``oidc_introspection`` is on, at the provider (introspection, then userinfo for the
    groups), each answer reused ``oidc_introspection_cache_s`` seconds.
    """

    def __init__(self, settings: Settings, provider: Provider | None = None) -> None:
        check_role_map(settings.oidc_role_map)
        self.provider = provider or Provider(settings)
        self.audience = settings.oidc_audience or settings.oidc_client_id
        self.claim = settings.oidc_role_claim
        self.mapping = dict(settings.oidc_role_map)
        self.leeway = settings.oidc_leeway_s
        self.introspects = settings.oidc_introspection
        self._client = (settings.oidc_client_id, settings.oidc_client_secret or "")
        self._cache_s = settings.oidc_introspection_cache_s
        self._answers: dict[str, tuple[float, Person | GeotranquilError]] = {}
        self._lock = threading.Lock()

    def accepts_opaque(self, token: str) -> bool:
        """Whether an opaque bearer is to be checked at the provider (never an API key)."""
        return self.introspects and not token.startswith(KEY_PREFIX)

    def _introspected(self, token: str) -> Person:
        metadata = self.provider.metadata()
        endpoint = metadata.get("introspection_endpoint")
        if not endpoint:
            raise NotReady("le fournisseur d'identité ne publie pas de point d'introspection")
        try:
            answer = httpx.post(
                endpoint, data={"token": token}, auth=self._client, timeout=self.provider.timeout
            )
            answer.raise_for_status()
            body: dict[str, Any] = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise NotReady(
                "le fournisseur d'identité de la Ville ne répond pas (introspection) : "
                "réessayez dans un instant ou utilisez une clé API"
            ) from exc
        if body.get("active") is not True:
            raise NotAuthenticated(f"jeton d'accès inconnu, expiré ou révoqué : {SIGN_IN_AGAIN}")
        audiences = body.get("aud") or []
        audiences = [audiences] if isinstance(audiences, str) else list(audiences)
        if self.audience not in [*audiences, body.get("client_id")]:
            raise NotAuthenticated(
                f"jeton d'accès destiné à une autre application (audience attendue : "
                f"{self.audience}) ; {SIGN_IN_AGAIN}"
            )
        if body.get("iss") not in (None, self.provider.issuer):
            raise NotAuthenticated(
                f"jeton d'accès d'un autre fournisseur d'identité ; {SIGN_IN_AGAIN}"
            )
        claims = dict(body)
        if self.claim.split(".")[0] not in claims and metadata.get("userinfo_endpoint"):
            try:
                info = httpx.get(
                    metadata["userinfo_endpoint"],
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=self.provider.timeout,
                )
                info.raise_for_status()
                claims.update(info.json())
            except (httpx.HTTPError, ValueError) as exc:
                raise NotReady(
                    "le fournisseur d'identité de la Ville ne répond pas (userinfo) : "
                    "réessayez dans un instant"
                ) from exc
        return self.person(claims)

    def opaque_caller(self, token: str) -> Caller:
        """The caller an opaque access token stands for, as the provider says (cached)."""
        digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
        now = time.monotonic()
        with self._lock:
            cached = self._answers.get(digest)
        if cached is None or now - cached[0] > self._cache_s:
            try:
                found: Person | GeotranquilError = self._introspected(token)
            except (NotAuthenticated, Forbidden) as exc:  # provider outages are not cached
                found = exc
            with self._lock:
                if len(self._answers) > 10_000:
                    self._answers.clear()
                self._answers[digest] = (now, found)
            cached = (now, found)
        if isinstance(cached[1], GeotranquilError):  # a fresh error, not the cached object
            raise type(cached[1])(str(cached[1]))
        return cached[1].caller

    def person(self, claims: Mapping[str, Any]) -> Person:
        """The person of validated claims; Forbidden when none of their groups is mapped."""
        role = role_from_claims(claims, claim=self.claim, mapping=self.mapping)
        subject = str(claims.get("sub") or "")
        if not subject:
            raise NotAuthenticated(f"jeton sans identifiant de personne (sub) : {SIGN_IN_AGAIN}")
        if role is None:
            raise Forbidden(unmapped_message(self.claim))
        name = str(claims.get("name") or claims.get("preferred_username") or subject)
        return Person(subject=subject, name=name, role=role)

    def claims(self, token: str) -> dict[str, Any]:
        """The claims of a valid access token; NotAuthenticated (French reason) otherwise."""
        try:
            try:
                decoded = jwt.decode(token, self.provider.keys(), algorithms=ALGORITHMS)
            except InvalidKeyIdError:  # the provider may have rotated its keys
                decoded = jwt.decode(token, self.provider.keys(refresh=True), algorithms=ALGORITHMS)
            registry = jwt.JWTClaimsRegistry(
                leeway=self.leeway,
                iss={"essential": True, "value": self.provider.issuer},
                aud={"essential": True, "value": self.audience},
                exp={"essential": True},
                sub={"essential": True},
            )
            registry.validate(decoded.claims)
        except ExpiredTokenError as exc:
            raise NotAuthenticated(f"jeton d'accès expiré : {SIGN_IN_AGAIN}") from exc
        except (BadSignatureError, InvalidKeyIdError) as exc:
            raise NotAuthenticated(
                "jeton d'accès refusé : sa signature ne vient pas du fournisseur d'identité "
                f"de la Ville ; {SIGN_IN_AGAIN}"
            ) from exc
        except ClaimError as exc:
            claim = getattr(exc, "claim", "")
            reasons = {
                "aud": f"jeton d'accès destiné à une autre application (audience attendue : "
                f"{self.audience})",
                "iss": f"jeton d'accès d'un autre fournisseur d'identité (attendu : "
                f"{self.provider.issuer})",
            }
            reason = reasons.get(claim, f"jeton d'accès invalide (revendication « {claim} »)")
            raise NotAuthenticated(f"{reason} ; {SIGN_IN_AGAIN}") from exc
        except (JoseError, ValueError) as exc:
            raise NotAuthenticated(
                f"jeton d'accès illisible ou d'un algorithme non accepté ; {SIGN_IN_AGAIN}"
            ) from exc
        return dict(decoded.claims)

    def caller(self, token: str) -> Caller:
        """The caller an access token stands for (role from the mapping, subject ``sub``)."""
        return self.person(self.claims(token)).caller
