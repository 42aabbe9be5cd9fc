"""Who is calling: API keys resolved to roles (cached briefly), and key management."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from geotranquil.db import keys
from geotranquil.db import push as push_db
from geotranquil.errors import InvalidInput, NotAuthenticated, NotFound
from geotranquil.roles import Role
from geotranquil.services import audit
from geotranquil.services.audit import Actor
from geotranquil.services.shared_state import SharedState, SharedStateDown

#: how long a resolved key is trusted without asking the database (the revocation delay when
#: a key is revoked in SQL, or while Redis is unreachable; ``revoke_key`` is immediate)
KEY_CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Caller:
    """The role of a request and who stands behind it: an API key (id and name) or a person
    signed in through the City's single sign-on (``subject``, the provider's user id)."""

    role: Role
    key_id: int | None = None
    key_name: str | None = None
    subject: str | None = None
    source_id: int | None = None  # a partner key's source (issue 16 §1)

    @property
    def who(self) -> str:
        """Who is calling, as the audit trail records it: ``key:ID``, ``sso:SUBJECT`` or
        ``public`` (never the key itself)."""
        if self.key_id is not None:
            return f"key:{self.key_id}"
        if self.subject is not None:
            return f"sso:{self.subject}"
        return "public"


ANONYMOUS = Caller(Role.PUBLIC)


class KeyResolver:
    """Resolves API keys to callers, cached 30 s in Redis (shared by every worker).

    Revoking a key through :func:`revoke_key` deletes its cached entry, so every worker refuses
    it at once; a key revoked behind the platform's back (in SQL) is refused within 30 s.
    Without ``shared``, or while Redis is unreachable, each process keeps its own 30 s cache.
    """

    def __init__(self, engine: Engine, shared: SharedState | None = None) -> None:
        self._engine = engine
        self._shared = shared
        self._cache: dict[str, tuple[float, Caller | None]] = {}
        self._lock = threading.Lock()

    def caller(self, key: str | None) -> Caller:
        """The caller a key stands for; anonymous without a key; NotAuthenticated if unknown."""
        if not key:
            return ANONYMOUS
        try:
            found = self._shared_caller(key) if self._shared is not None else self._local(key)
        except SharedStateDown:
            found = self._local(key)
        if found is None:
            raise NotAuthenticated(
                "clé API inconnue ou révoquée : demandez une clé à l'administrateur "
                "(geotranquil keys create)"
            )
        return found

    def _lookup(self, key: str) -> Caller | None:
        with self._engine.begin() as conn:
            info = keys.role_of_key(conn=conn, key=key)
            if info is not None:
                keys.touch_key(conn=conn, key_id=info.id)
        return Caller(info.role, info.id, info.name, source_id=info.source_id) if info else None

    def _shared_caller(self, key: str) -> Caller | None:
        assert self._shared is not None
        shared = self._shared
        name = cached_key_name(shared, keys.hash_key(key))
        raw = shared.call(lambda r: r.get(name))
        if isinstance(raw, bytes):
            return _decode(raw)
        found = self._lookup(key)
        shared.call(lambda r: r.set(name, _encode(found), ex=int(KEY_CACHE_SECONDS)))
        return found

    def _local(self, key: str) -> Caller | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
        if cached is None or now - cached[0] > KEY_CACHE_SECONDS:
            found = self._lookup(key)
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[key] = (now, found)
            cached = (now, found)
        return cached[1]


def cached_key_name(shared: SharedState, key_hash: str) -> str:
    """The Redis key caching the caller of the API key whose SHA-256 is ``key_hash``."""
    return shared.key("apikey", key_hash)


def _encode(found: Caller | None) -> bytes:
    if found is None:
        return b"{}"
    return json.dumps(
        {
            "role": found.role.value,
            "id": found.key_id,
            "name": found.key_name,
            "source": found.source_id,
        }
    ).encode()


def _decode(raw: bytes) -> Caller | None:
    data = json.loads(raw)
    if not data:
        return None
    return Caller(Role(data["role"]), data["id"], data["name"], source_id=data.get("source"))


def create_key(
    *,
    engine: Engine,
    name: str,
    role: str,
    actor: Actor | None = None,
    source: str | None = None,
) -> tuple[str, keys.KeyInfo]:
    """A new key (returned once, stored hashed) and its record; the creation is audited (by
    ``actor``, the operator running this process by default), in the same transaction.

    A ``partner`` key bound to a ``source`` (its slug) may push to it alone; a partner key
    without one pushes nowhere (a civic app filing residents' reports through Open311). The
    other roles take none.
    """
    if source and role != Role.PARTNER.value:
        raise InvalidInput(
            f"seule une clé partner est liée à une source ; une clé {role} n'en prend pas "
            "(retirez --source)"
        )
    with engine.begin() as conn:
        source_id = None
        if source:
            found = push_db.source_by_slug(conn=conn, slug=source)
            if found is None:
                known = ", ".join(push_db.source_slugs(conn=conn)) or "aucune"
                raise NotFound(f"source « {source} » inconnue ; sources connues : {known}")
            source_id = found.id
        key, info = keys.create_key(conn=conn, name=name, role=role, source_id=source_id)
        _audit_key(conn, actor, audit.KEY_CREATED, info)
        return key, info


def list_keys(*, engine: Engine) -> list[keys.KeyInfo]:
    """Every key, newest first."""
    with engine.connect() as conn:
        return keys.list_keys(conn=conn)


def revoke_key(
    *,
    engine: Engine,
    key_id: int,
    shared: SharedState | None = None,
    actor: Actor | None = None,
) -> tuple[keys.KeyInfo, bool]:
    """Revoke a key (audited like its creation); whether running servers refuse it at once
    (its shared cache entry was deleted) rather than within 30 seconds (no Redis reachable)."""
    with engine.begin() as conn:
        info = keys.revoke_key(conn=conn, key_id=key_id)
        key_hash = keys.hash_of_key(conn=conn, key_id=key_id)
        _audit_key(conn, actor, audit.KEY_REVOKED, info)
    if shared is None:
        return info, False
    try:
        name = cached_key_name(shared, key_hash)
        shared.call(lambda r: r.delete(name))
    except SharedStateDown:
        return info, False
    return info, True


def _audit_key(conn: Connection, actor: Actor | None, action: str, info: keys.KeyInfo) -> None:
    """A key's creation or revocation in the audit trail: its number, name and role only."""
    audit.record(
        conn,
        caller=actor or audit.operator(),
        action=action,
        filters={"key_id": info.id, "key_name": info.name, "key_role": info.role.value}
        | ({"key_source_id": info.source_id} if info.source_id is not None else {}),
        rows=1,
    )


def demo_keys(*, engine: Engine, actor: Actor | None = None) -> dict[str, str]:
    """Fresh keys for the demonstration (one per staff role); the previous ones are revoked.

    Each creation and revocation is audited."""
    out = {}
    with engine.begin() as conn:
        for role in ("analyst", "planner", "agent", "admin"):
            name = f"démonstration ({role})"
            for revoked in keys.revoke_keys_named(conn=conn, name=name):
                _audit_key(conn, actor, audit.KEY_REVOKED, revoked)
            key, info = keys.create_key(conn=conn, name=name, role=role)
            _audit_key(conn, actor, audit.KEY_CREATED, info)
            out[role] = key
    return out


def demo_partner_key(*, engine: Engine, source_id: int, actor: Actor | None = None) -> str:
    """A fresh partner key of the demonstration, bound to ``source_id``; the previous one is
    revoked. Both are audited."""
    name = "démonstration (partner)"
    with engine.begin() as conn:
        for revoked in keys.revoke_keys_named(conn=conn, name=name):
            _audit_key(conn, actor, audit.KEY_REVOKED, revoked)
        key, info = keys.create_key(conn=conn, name=name, role="partner", source_id=source_id)
        _audit_key(conn, actor, audit.KEY_CREATED, info)
    return key
