"""The audit trail's SQL: append a row (the database chains it), search, read the chain.

The insert trigger of migration 0012 gives each row its id, instant, ``prev_hash`` and
``hash``; :func:`canonical` and :func:`row_hash` recompute the hash here, independently of the
database's own function, so that a verification does not trust the database it checks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
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
_SELECT = (
    "SELECT id, at, who, role, action, method, route, path, filters::text AS filters, bbox, "
    "rows, client, prev_hash, hash FROM audit_log"
)


@dataclass(frozen=True)
class AuditRow:
    """One row of the audit trail (``filters`` as the JSON text the database stores)."""

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
    prev_hash: str
    hash: str

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
    return hashlib.sha256((row.prev_hash + canonical(row)).encode("utf-8")).hexdigest()


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
    """Insert a row; the trigger chains it (and holds the chain's lock to the commit)."""
    found = conn.execute(
        text(
            "INSERT INTO audit_log (who, role, action, method, route, path, filters, bbox, rows, "
            "client) VALUES (:who, :role, :action, :method, :route, :path, "
            "CAST(:filters AS jsonb), :bbox, :rows, :client) "
            "RETURNING id, at, who, role, action, method, route, path, filters::text AS filters, "
            "bbox, rows, client, prev_hash, hash"
        ),
        {
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
        },
    ).one()
    return AuditRow(**found._mapping)


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
        clauses.append("id > :after")
        params["after"] = after
    for name, value in (("who", who), ("role", role), ("action", action)):
        if value is not None:
            clauses.append(f"{name} = :{name}")
            params[name] = value
    if since is not None:
        clauses.append("at >= :since")
        params["since"] = since
    if until is not None:
        clauses.append("at < :until")
        params["until"] = until
    if route is not None:
        clauses.append("(route = :route OR path = :route)")
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
        conn.execute(text(f"SELECT count(*) FROM audit_log{where}"), params).scalar_one()
        if count
        else None
    )
    rows = conn.execute(
        text(f"{_SELECT}{where} ORDER BY id LIMIT :limit OFFSET :offset"),
        {**params, "limit": limit, "offset": offset},
    ).fetchall()
    return total, [AuditRow(**r._mapping) for r in rows]


def chain(*, conn: Connection, batch: int = 5000) -> Iterator[AuditRow]:
    """Every row in chain (id) order, read in batches by id so memory stays flat."""
    last = -1
    while True:
        rows = conn.execute(
            text(f"{_SELECT} WHERE id > :last ORDER BY id LIMIT :n"), {"last": last, "n": batch}
        ).fetchall()
        for r in rows:
            yield AuditRow(**r._mapping)
        if len(rows) < batch:
            return
        last = rows[-1].id
