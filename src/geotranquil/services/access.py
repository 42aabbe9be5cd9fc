"""Who is calling: API keys resolved to roles (cached briefly), and key management."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from geotranquil.db import keys
from geotranquil.errors import NotAuthenticated
from geotranquil.roles import Role
from geotranquil.services import audit
from geotranquil.services.audit import Actor

#: how long a resolved key is trusted without asking the database (revocation delay)
KEY_CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Caller:
    """The role of a request and who stands behind it: an API key (id and name) or a person
    signed in through the City's single sign-on (``subject``, the provider's user id)."""

    role: Role
    key_id: int | None = None
    key_name: str | None = None
    subject: str | None = None

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
    """Resolves API keys to callers; a key is looked up at most every 30 seconds."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._cache: dict[str, tuple[float, Caller | None]] = {}
        self._lock = threading.Lock()

    def caller(self, key: str | None) -> Caller:
        """The caller a key stands for; anonymous without a key; NotAuthenticated if unknown."""
        if not key:
            return ANONYMOUS
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
        if cached is None or now - cached[0] > KEY_CACHE_SECONDS:
            with self._engine.begin() as conn:
                info = keys.role_of_key(conn=conn, key=key)
                if info is not None:
                    keys.touch_key(conn=conn, key_id=info.id)
            found = Caller(info.role, info.id, info.name) if info else None
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[key] = (now, found)
            cached = (now, found)
        if cached[1] is None:
            raise NotAuthenticated(
                "clé API inconnue ou révoquée : demandez une clé à l'administrateur "
                "(geotranquil keys create)"
            )
        return cached[1]


def create_key(
    *, engine: Engine, name: str, role: str, actor: Actor | None = None
) -> tuple[str, keys.KeyInfo]:
    """A new key (returned once, stored hashed) and its record; the creation is audited (by
    ``actor``, the operator running this process by default), in the same transaction."""
    with engine.begin() as conn:
        key, info = keys.create_key(conn=conn, name=name, role=role)
        _audit_key(conn, actor, audit.KEY_CREATED, info)
        return key, info


def list_keys(*, engine: Engine) -> list[keys.KeyInfo]:
    """Every key, newest first."""
    with engine.connect() as conn:
        return keys.list_keys(conn=conn)


def revoke_key(*, engine: Engine, key_id: int, actor: Actor | None = None) -> keys.KeyInfo:
    """Revoke a key (effective within 30 seconds on running servers); audited like creation."""
    with engine.begin() as conn:
        info = keys.revoke_key(conn=conn, key_id=key_id)
        _audit_key(conn, actor, audit.KEY_REVOKED, info)
        return info


def _audit_key(conn: Connection, actor: Actor | None, action: str, info: keys.KeyInfo) -> None:
    """A key's creation or revocation in the audit trail: its number, name and role only."""
    audit.record(
        conn,
        caller=actor or audit.operator(),
        action=action,
        filters={"key_id": info.id, "key_name": info.name, "key_role": info.role.value},
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
