"""API keys: created with a role, stored as a SHA-256 hash, looked up per request, revoked."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from geotranquil.errors import InvalidInput, NotFound
from geotranquil.roles import KEY_ROLES, Role

KEY_PREFIX = "gtq_"
_COLUMNS = (
    "id, name, role, prefix, created_at, revoked_at, last_used_at, "
    "(SELECT b.source_id FROM api_key_sources b WHERE b.key_id = api_keys.id) AS source_id"
)


@dataclass(frozen=True)
class KeyInfo:
    """What the platform knows of a key (never the key itself)."""

    id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    source_id: int | None = None  # the one source a partner key may push to


def hash_key(key: str) -> str:
    """The stored form of a key.

    Keys are 32 random bytes, so a plain SHA-256 suffices (no password stretching needed).

    Examples
    --------
    >>> hash_key("gtq_example")[:16]
    '8901bf53ad6f872e'
    """
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    *, conn: Connection, name: str, role: Role | str, source_id: int | None = None
) -> tuple[str, KeyInfo]:
    """Create a key with ``role`` (a partner key bound to ``source_id``); return the key (shown
    once, never stored) and its record."""
    try:
        chosen = Role(role)
    except ValueError:
        chosen = None
    if chosen not in KEY_ROLES:
        allowed = ", ".join(r.value for r in KEY_ROLES)
        raise InvalidInput(f"rôle « {role} » inconnu : choisissez parmi {allowed}")
    if not name.strip():
        raise InvalidInput("donnez un nom à la clé (service ou personne qui l'utilise)")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = conn.execute(
        text(
            "WITH k AS (INSERT INTO api_keys (name, role, prefix, key_hash) "
            "VALUES (:n, :r, :p, :h) RETURNING *), "
            "b AS (INSERT INTO api_key_sources (key_id, source_id) "
            "SELECT id, CAST(:s AS integer) FROM k WHERE CAST(:s AS integer) IS NOT NULL) "
            "SELECT id, name, role, prefix, created_at, revoked_at, last_used_at, "
            "CAST(:s AS integer) AS source_id FROM k"
        ),
        {
            "n": name.strip(),
            "r": chosen.value,
            "p": key[:10],
            "h": hash_key(key),
            "s": source_id,
        },
    ).one()
    return key, _info(row)


def role_of_key(*, conn: Connection, key: str) -> KeyInfo | None:
    """The live (not revoked) key matching ``key``, or None."""
    row = conn.execute(
        text(f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = :h AND revoked_at IS NULL"),
        {"h": hash_key(key)},
    ).first()
    return _info(row) if row else None


def touch_key(*, conn: Connection, key_id: int) -> None:
    """Record that a key was used (at most once a minute, to keep requests read-only)."""
    conn.execute(
        text(
            "UPDATE api_keys SET last_used_at = now() WHERE id = :i "
            "AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')"
        ),
        {"i": key_id},
    )


def hash_of_key(*, conn: Connection, key_id: int) -> str:
    """The stored hash of key ``key_id`` (it names the key's cached entry)."""
    value = conn.execute(
        text("SELECT key_hash FROM api_keys WHERE id = :i"), {"i": key_id}
    ).scalar_one()
    return str(value)


def list_keys(*, conn: Connection) -> list[KeyInfo]:
    """Every key, newest first."""
    rows = conn.execute(text(f"SELECT {_COLUMNS} FROM api_keys ORDER BY id DESC")).fetchall()
    return [_info(r) for r in rows]


def revoke_key(*, conn: Connection, key_id: int) -> KeyInfo:
    """Revoke a key; NotFound if there is no such key."""
    row = conn.execute(
        text(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = :i "
            f"RETURNING {_COLUMNS}"
        ),
        {"i": key_id},
    ).first()
    if row is None:
        raise NotFound(f"clé {key_id} introuvable")
    return _info(row)


def _info(row: object) -> KeyInfo:
    m = row._mapping  # type: ignore[attr-defined]
    return KeyInfo(
        id=m["id"],
        name=m["name"],
        role=Role(m["role"]),
        prefix=m["prefix"],
        created_at=m["created_at"],
        revoked_at=m["revoked_at"],
        last_used_at=m["last_used_at"],
        source_id=m["source_id"],
    )


def revoke_keys_named(*, conn: Connection, name: str) -> list[KeyInfo]:
    """Revoke every live key called ``name``; the keys that were."""
    rows = conn.execute(
        text(
            "UPDATE api_keys SET revoked_at = now() WHERE name = :n AND revoked_at IS NULL "
            f"RETURNING {_COLUMNS}"
        ),
        {"n": name},
    ).fetchall()
    return [_info(r) for r in rows]
