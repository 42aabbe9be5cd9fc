"""The audit trail's SQL: append a row, seal the chain, search, read the chain.

The insert trigger gives each row its id and instant and queues it; the database function
``audit_seal`` chains queued rows in ``audit_chain`` (``prev_hash``, ``hash``) without ever
making an insert wait (migration 0013). :func:`canonical` and :func:`row_hash` recompute the
hash here, independently of the database's own function, so that a verification does not
trust the database it checks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

#: ``prev_hash`` of the first row of the chain
GENESIS = "0" * 64

COLUMNS = (
    "id",
    "at",
    "who",
    "role",
    "action",
    "method",
    "route",
    "path",
    "filters",
    "bbox",
    "rows",
    "client",
    "prev_hash",
    "hash",
)
_FIELDS = (
    "a.id, a.at, a.who, a.role, a.action, a.method, a.route, a.path, "
    "a.filters::text AS filters, a.bbox, a.rows, a.client, c.prev_hash, c.hash"
)
#: every row, with its place in the chain when it has been sealed (else NULL hashes)
_SELECT = f"SELECT {_FIELDS} FROM audit_log a LEFT JOIN audit_chain c ON c.audit_id = a.id"


@dataclass(frozen=True)
class AuditRow:
    """One row of the audit trail (``filters`` as the JSON text the database stores;
    ``prev_hash`` and ``hash`` None until the row is sealed into the chain)."""

    id: int
    at: datetime
    who: str
    role: str
    action: str
    method: str | None
    route: str | None
    path: str | None
    filters: str
    bbox: str | None
    rows: int | None
    client: str | None
    prev_hash: str | None
    hash: str | None

    def as_dict(self) -> dict[str, Any]:
        """The row for JSON: ``at`` in ISO 8601, ``filters`` as an object."""
        out = {c: getattr(self, c) for c in COLUMNS}
        out["at"] = self.at.isoformat()
        out["filters"] = json.loads(self.filters)
        return out


def canonical(row: AuditRow) -> str:
    """The text a row's hash covers: its fields as text, in a JSON array (as PostgreSQL's
    ``jsonb`` writes it: ``", "`` between items, non-ASCII kept).

    Examples
    --------
    >>> r = AuditRow(1, datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "key:3", "analyst",
    ...              "read_events", "GET", "/collections/{collection_id}/items",
    ...              "/collections/events/items", '{"limit": "2"}', None, 2, "127.0.0.1",
    ...              GENESIS, "")
    >>> canonical(r)[:60]
    '["1", "2026-01-02T03:04:05.000006Z", "key:3", "analyst", "re'
    """
    at = row.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fields = [
        str(row.id),
        at,
        row.who,
        row.role,
        row.action,
        row.method,
        row.route,
        row.path,
        row.filters,
        row.bbox,
        None if row.rows is None else str(row.rows),
        row.client,
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(", ", ": "))


def row_hash(row: AuditRow) -> str:
    """SHA-256 (hex) of the row's ``prev_hash`` followed by :func:`canonical`.

    Examples
    --------
    >>> r = AuditRow(1, datetime(2026, 1, 2, tzinfo=UTC), "public", "public", "export",
    ...              None, None, None, "{}", None, 0, None, GENESIS, "")
    >>> len(row_hash(r)), row_hash(r) == row_hash(r)
    (64, True)
    """
    return hashlib.sha256(((row.prev_hash or "") + canonical(row)).encode("utf-8")).hexdigest()


_INSERT = (
    "INSERT INTO audit_log (who, role, action, method, route, path, filters, bbox, rows, "
    "client) VALUES (:who, :role, :action, :method, :route, :path, CAST(:filters AS jsonb), "
    ":bbox, :rows, :client)"
)


def append(
    *,
    conn: Connection,
    who: str,
    role: str,
    action: str,
    method: str | None,
    route: str | None,
    path: str | None,
    filters: str,
    bbox: str | None,
    rows: int | None,
    client: str | None,
) -> AuditRow:
    """Insert a row and return it: sealed into the chain when no other transaction was
    sealing at that moment (the insert never waits for one), else with no hash yet."""
    values = {
        "who": who,
        "role": role,
        "action": action,
        "method": method,
        "route": route,
        "path": path,
        "filters": filters,
        "bbox": bbox,
        "rows": rows,
        "client": client,
    }
    new_id = conn.execute(text(f"{_INSERT} RETURNING id"), values).scalar_one()
    found = conn.execute(text(f"{_SELECT} WHERE a.id = :i"), {"i": new_id}).one()
    return AuditRow(**found._mapping)


def append_quietly(*, conn: Connection, values: dict[str, Any]) -> None:
    """Insert a row (same fields as :func:`append`) and read nothing back: one statement,
    for the requests that record a read and go on."""
    conn.execute(text(_INSERT), values)


def last_role(*, conn: Connection, who: str, actions: Sequence[str]) -> str | None:
    """The role recorded by the newest row of ``who`` among ``actions`` (None: no such row)."""
    found = conn.execute(
        text(
            "SELECT role FROM audit_log WHERE who = :who AND action = ANY(:actions) "
            "ORDER BY id DESC LIMIT 1"
        ),
        {"who": who, "actions": list(actions)},
    ).scalar()
    return None if found is None else str(found)


def seal(*, conn: Connection) -> int:
    """Chain every queued row, waiting for a sealer at work; how many rows were chained.

    ``conn`` must be in a READ COMMITTED transaction (the default)."""
    return int(conn.execute(text("SELECT audit_seal(true)")).scalar_one())


def unchained(*, conn: Connection) -> list[int]:
    """Ids of rows neither in the chain nor queued for it (after :func:`seal`: tampering)."""
    return list(
        conn.execute(
            text(
                "SELECT a.id FROM audit_log a WHERE NOT EXISTS "
                "(SELECT 1 FROM audit_chain c WHERE c.audit_id = a.id) AND NOT EXISTS "
                "(SELECT 1 FROM audit_pending p WHERE p.audit_id = a.id) ORDER BY a.id"
            )
        ).scalars()
    )


def _where(
    who: str | None,
    role: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    route: str | None,
    after: int | None = None,
) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if after is not None:
        clauses.append("a.id > :after")
        params["after"] = after
    for name, value in (("who", who), ("role", role), ("action", action)):
        if value is not None:
            clauses.append(f"a.{name} = :{name}")
            params[name] = value
    if since is not None:
        clauses.append("a.at >= :since")
        params["since"] = since
    if until is not None:
        clauses.append("a.at < :until")
        params["until"] = until
    if route is not None:
        clauses.append("(a.route = :route OR a.path = :route)")
        params["route"] = route
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def search(
    *,
    conn: Connection,
    who: str | None = None,
    role: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    route: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    after: int | None = None,
    count: bool = True,
) -> tuple[int | None, list[AuditRow]]:
    """The number of matching rows (when ``count``) and a page of them, oldest first.

    ``since`` is inclusive, ``until`` exclusive; ``route`` matches the route template or the
    path exactly; ``after``: rows whose id is greater (keyset paging); ``limit`` None: every
    row from ``offset``.
    """
    where, params = _where(who, role, action, since, until, route, after)
    total = (
        conn.execute(text(f"SELECT count(*) FROM audit_log a{where}"), params).scalar_one()
        if count
        else None
    )
    rows = conn.execute(
        text(f"{_SELECT}{where} ORDER BY a.id LIMIT :limit OFFSET :offset"),
        {**params, "limit": limit, "offset": offset},
    ).fetchall()
    return total, [AuditRow(**r._mapping) for r in rows]


@dataclass(frozen=True)
class ChainLink:
    """One link of the chain: its place, the row it seals, and that row (None if removed)."""

    seq: int
    audit_id: int
    row: AuditRow | None


def chain(*, conn: Connection, batch: int = 5000) -> Iterator[ChainLink]:
    """Every link in chain (seal) order with its row, read in batches so memory stays flat."""
    last = 0
    while True:
        found = conn.execute(
            text(
                f"SELECT c.seq, c.audit_id, a.id IS NOT NULL AS present, {_FIELDS} "
                "FROM audit_chain c LEFT JOIN audit_log a ON a.id = c.audit_id "
                "WHERE c.seq > :last ORDER BY c.seq LIMIT :n"
            ),
            {"last": last, "n": batch},
        ).fetchall()
        for r in found:
            fields = {k: v for k, v in r._mapping.items() if k not in ("seq", "audit_id")}
            present = fields.pop("present")
            yield ChainLink(r.seq, r.audit_id, AuditRow(**fields) if present else None)
        if len(found) < batch:
            return
        last = found[-1].seq
