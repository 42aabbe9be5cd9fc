"""The audit trail: record who read raw events or personal data, exported, or changed access;
search it; verify its hash chain.

Other parts call :func:`record`::

    record(engine, caller=caller, action="read_events", route=Route("GET", template, path),
           filters=request.query_params.multi_items(), bbox=(w, s, e, n), rows=12,
           client="203.0.113.7")

``caller`` is the request's :class:`~geotranquil.services.access.Caller` (recorded as
``key:ID``, ``sso:SUBJECT`` or ``public``) or an :class:`Operator` at the command line
(``cli:<unix user>``). Keys are never recorded: parameters that may carry one are dropped
from ``filters``. Personal data never are either: callers pass query parameters, never bodies.
"""

from __future__ import annotations

import csv
import getpass
import io
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from geotranquil.db import audit as db
from geotranquil.db.audit import COLUMNS, GENESIS, AuditRow, row_hash
from geotranquil.errors import InvalidInput
from geotranquil.features.catalogue import Collection
from geotranquil.roles import RAW_EVENTS, Role

log = logging.getLogger("geotranquil.audit")

#: query parameters never recorded: they may carry a key, a token or a sign-in secret
SECRET_PARAMETERS = frozenset(
    {"api_key", "apikey", "key", "token", "access_token", "id_token", "code", "password"}
)
#: a recorded parameter value is cut beyond this many characters (a long CQL2 filter)
MAX_VALUE_CHARS = 2000

#: the actions recorded by this code; other parts add theirs (role_changed, retention_purge…)
READ_EVENTS = "read_events"
READ_PERSONAL_DATA = "read_personal_data"
EXPORT = "export"
KEY_CREATED = "key_created"
KEY_REVOKED = "key_revoked"
REPORT_STATE_CHANGED = "report_state_changed"
READ_AUDIT = "read_audit"
SIGNED_IN = "signed_in"
ROLE_CHANGED = "role_changed"


def reads_raw_events(collection: Collection) -> bool:
    """Whether reading ``collection`` reads individual events (recorded every time)."""
    return collection.access.name == RAW_EVENTS.name


class Actor(Protocol):
    """Whoever acts: a request's caller or an operator at the command line."""

    @property
    def who(self) -> str: ...

    @property
    def role(self) -> Role | str: ...


@dataclass(frozen=True)
class Operator:
    """Someone running the ``geotranquil`` command on the server (full database access)."""

    user: str
    role: str = "cli"

    @property
    def who(self) -> str:
        return f"cli:{self.user}"


def operator() -> Operator:
    """The operator running this process (its Unix user)."""
    return Operator(getpass.getuser())


@dataclass(frozen=True)
class Route:
    """An HTTP request's method, route template and path (no query string)."""

    method: str
    template: str
    path: str


def clean_filters(params: Iterable[tuple[str, str]] | Mapping[str, object]) -> dict[str, object]:
    """The parameters worth recording: keys and tokens dropped, long values cut, repeated
    parameters kept as lists.

    Examples
    --------
    >>> clean_filters([("api_key", "gtq_secret"), ("limit", "10"), ("bbox", "5.3,43.2,5.4,43.3")])
    {'limit': '10', 'bbox': '5.3,43.2,5.4,43.3'}
    >>> clean_filters([("state", "received"), ("state", "resolved"), ("Token", "abc")])
    {'state': ['received', 'resolved']}
    >>> clean_filters({"q": "a" + chr(0) + "b"})["q"] == "a" + chr(0xFFFD) + "b"
    True
    """
    items = params.items() if isinstance(params, Mapping) else params
    out: dict[str, object] = {}
    for name, value in items:
        if name.lower() in SECRET_PARAMETERS:
            continue
        name = name.replace("\x00", "\ufffd")  # jsonb holds no NUL character
        if isinstance(value, str):
            value = value.replace("\x00", "\ufffd")
            if len(value) > MAX_VALUE_CHARS:
                value = value[:MAX_VALUE_CHARS] + "…"
        if name in out:
            before = out[name]
            out[name] = [*before, value] if isinstance(before, list) else [before, value]
        else:
            out[name] = value
    return out


def bbox_text(bbox: Sequence[float] | str | None) -> str | None:
    """A bounding box as recorded: ``west,south,east,north`` (6 decimals).

    Examples
    --------
    >>> bbox_text((5.3699999, 43.29, 5.38, 43.3))
    '5.37,43.29,5.38,43.3'
    """
    if bbox is None or isinstance(bbox, str):
        return bbox
    return ",".join(f"{round(float(v), 6):g}" if abs(v) < 1e6 else f"{v:.1f}" for v in bbox)


def _values(
    caller: Actor,
    action: str,
    route: Route | None,
    filters: Iterable[tuple[str, str]] | Mapping[str, object] | None,
    bbox: Sequence[float] | str | None,
    rows: int | None,
    client: str | None,
) -> dict[str, Any]:
    role = caller.role.value if isinstance(caller.role, Role) else str(caller.role)
    values: dict[str, Any] = {
        "who": caller.who,
        "role": role,
        "action": action,
        "method": route.method if route else None,
        "route": route.template if route else None,
        "path": route.path if route else None,
        "filters": json.dumps(clean_filters(filters or ()), ensure_ascii=False, default=str),
        "bbox": bbox_text(bbox),
        "rows": rows,
        "client": client,
    }
    for name, value in values.items():  # PostgreSQL text and jsonb hold no NUL character
        if isinstance(value, str):
            values[name] = value.replace("\x00", "\ufffd")
    return values


def record(
    bind: Engine | Connection,
    *,
    caller: Actor,
    action: str,
    route: Route | None = None,
    filters: Iterable[tuple[str, str]] | Mapping[str, object] | None = None,
    bbox: Sequence[float] | str | None = None,
    rows: int | None = None,
    client: str | None = None,
) -> AuditRow:
    """Append one row to the audit trail and return it (chained by the database).

    With an engine the row is committed at once; with a connection it joins that transaction.
    Either way the insert never waits for the chain: the row is sealed into it by this
    transaction when no other is sealing, else by the next one (:func:`seal`).
    """
    values = _values(caller, action, route, filters, bbox, rows, client)
    if isinstance(bind, Connection):
        return db.append(conn=bind, **values)
    with bind.begin() as conn:
        return db.append(conn=conn, **values)


def record_sign_in(
    engine: Engine, *, caller: Actor, route: Route | None = None, client: str | None = None
) -> bool:
    """Record a sign-in through the City's single sign-on, preceded by a ``role_changed`` row
    (``filters``: ``from``, ``to``) when the role the provider's groups now give differs from
    the role of this person's previous sign-in; whether the role changed."""
    values = _values(caller, SIGNED_IN, route, None, None, None, client)
    with engine.begin() as conn:
        before = db.last_role(conn=conn, who=values["who"], actions=(SIGNED_IN, ROLE_CHANGED))
        changed = before is not None and before != values["role"]
        if changed:
            change = {"from": before, "to": values["role"]}
            db.append(
                conn=conn,
                **{**values, "action": ROLE_CHANGED, "filters": json.dumps(change)},
            )
        db.append(conn=conn, **values)
    return changed


def record_read(
    engine: Engine,
    *,
    caller: Actor,
    action: str,
    route: Route | None = None,
    filters: Iterable[tuple[str, str]] | Mapping[str, object] | None = None,
    bbox: Sequence[float] | str | None = None,
    rows: int | None = None,
    client: str | None = None,
) -> None:
    """:func:`record` for a request that goes on: one statement committed on its own
    (autocommit), nothing read back."""
    values = _values(caller, action, route, filters, bbox, rows, client)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        db.append_quietly(conn=conn, values=values)


def parse_instant(value: str, timezone: str, *, name: str) -> datetime:
    """A ``since``/``until`` bound: a date (local midnight) or an ISO 8601 instant (local time
    when it has no offset); InvalidInput, in French, otherwise.

    Examples
    --------
    >>> parse_instant("2026-03-01", "Europe/Paris", name="since").isoformat()
    '2026-03-01T00:00:00+01:00'
    >>> parse_instant("2026-03-01T10:30:00Z", "Europe/Paris", name="since").isoformat()
    '2026-03-01T10:30:00+00:00'
    """
    text_ = value.strip()
    zone = ZoneInfo(timezone)
    try:
        if len(text_) == 10:
            return datetime.combine(date.fromisoformat(text_), time(0), tzinfo=zone)
        found = datetime.fromisoformat(text_.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{name} : « {value[:40]} » n'est pas une date (2026-03-01) ni un instant "
            "(2026-03-01T10:30:00+01:00)"
        ) from None
    return found if found.tzinfo else found.replace(tzinfo=zone)


@dataclass(frozen=True)
class AuditPage:
    """A page of the audit trail, oldest first, and how many rows match in all."""

    total: int
    rows: list[AuditRow]


@dataclass(frozen=True)
class AuditQuery:
    """What to look for: every field given must match (``since`` inclusive, ``until``
    exclusive; ``route``: the route template or the path)."""

    who: str | None = None
    role: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    route: str | None = None


def search(engine: Engine, query: AuditQuery, *, limit: int, offset: int = 0) -> AuditPage:
    """A page of the matching rows, oldest first, and how many match in all."""
    with engine.connect() as conn:
        total, rows = db.search(conn=conn, **query.__dict__, limit=limit, offset=offset)
    return AuditPage(total or 0, rows)


def every_row(engine: Engine, query: AuditQuery, *, batch: int = 5000) -> Iterator[AuditRow]:
    """Every matching row, oldest first, read in batches (for CSV files of any size)."""
    after = -1
    while True:
        with engine.connect() as conn:
            _, rows = db.search(conn=conn, **query.__dict__, limit=batch, after=after, count=False)
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].id


def csv_lines(rows: Iterable[AuditRow]) -> Iterator[str]:
    """The rows as CSV (header first; ``filters`` as JSON, ``at`` in ISO 8601)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        d = row.as_dict()
        d["filters"] = row.filters
        writer.writerow(["" if d[c] is None else d[c] for c in COLUMNS])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@dataclass(frozen=True)
class Verification:
    """The result of checking the chain: intact, or the first broken row and why."""

    rows: int
    head: str
    broken_id: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.reason is None


def verify_rows(rows: Iterable[AuditRow | None]) -> Verification:
    """Check a chain, rows in chain order: each row's ``prev_hash`` is the previous row's hash
    and its ``hash`` is recomputed from its content (:func:`~geotranquil.db.audit.row_hash`).
    ``None`` stands for a link whose row is gone.

    Examples
    --------
    >>> from datetime import UTC
    >>> a = AuditRow(1, datetime(2026, 1, 2, tzinfo=UTC), "public", "public", "export", None,
    ...              None, None, "{}", None, 0, None, GENESIS, "")
    >>> a = AuditRow(**{**a.__dict__, "hash": row_hash(a)})
    >>> verify_rows([a]).intact
    True
    >>> verify_rows([AuditRow(**{**a.__dict__, "rows": 5})]).reason
    'contenu modifié (empreinte différente)'
    """
    previous = GENESIS
    n = 0
    for row in rows:
        if row is None:
            return Verification(n, previous, None, "ligne retirée (le maillon reste)")
        if row.prev_hash != previous:
            return Verification(n, previous, row.id, "chaînage rompu (ligne retirée ou insérée)")
        if row_hash(row) != row.hash:
            return Verification(n, previous, row.id, "contenu modifié (empreinte différente)")
        previous = row.hash
        n += 1
    return Verification(n, previous)


def seal(engine: Engine) -> int:
    """Chain the rows still queued (waiting for a sealer at work); how many were chained."""
    with engine.begin() as conn:
        return db.seal(conn=conn)


def verify(engine: Engine) -> Verification:
    """Seal what is queued, then check the whole chain stored in the database: every link's
    row present and unchanged, every link following the previous, and no row outside the
    chain."""
    seal(engine)
    with engine.connect() as conn:
        result = _verify_links(db.chain(conn=conn))
        if not result.intact:
            return result
        outside = db.unchained(conn=conn)
    if outside:
        return Verification(result.rows, result.head, outside[0], "ligne hors de la chaîne")
    return result


def _verify_links(links: Iterable[db.ChainLink]) -> Verification:
    missing: list[int] = []

    def rows() -> Iterator[AuditRow | None]:
        for link in links:
            if link.row is None:
                missing.append(link.audit_id)
            yield link.row

    result = verify_rows(rows())
    if result.reason is not None and result.broken_id is None:  # a link whose row is gone
        return Verification(result.rows, result.head, missing[-1], result.reason)
    return result
