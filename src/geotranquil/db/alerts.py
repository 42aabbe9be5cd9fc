"""Alert rules, the alerts that fired and their deliveries (tables of migration 0019)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Connection, text

from geotranquil.errors import NotFound

#: the columns of a rule a caller may read (never the webhook secret)
RULE_COLUMNS = (
    "id, owner, name, zone_kind, zone_code, categories, condition, n_weeks, alpha, email, "
    "webhook_url, active, created_at, updated_at"
)
#: what a caller may change, besides the delivery's secret
EDITABLE = (
    "name",
    "zone_kind",
    "zone_code",
    "categories",
    "condition",
    "n_weeks",
    "alpha",
    "email",
    "webhook_url",
    "webhook_secret",
    "active",
)


def create_rule(*, conn: Connection, values: dict[str, Any], token: str) -> dict[str, Any]:
    """Store a rule (``values``: the :data:`EDITABLE` fields and ``owner``); its record."""
    names = ["owner", *EDITABLE, "unsubscribe_token"]
    row = conn.execute(
        text(
            f"INSERT INTO alert_rules ({', '.join(names)}) "
            f"VALUES ({', '.join(':' + n for n in names)}) RETURNING {RULE_COLUMNS}"
        ),
        {n: values.get(n) for n in names} | {"unsubscribe_token": token},
    ).one()
    return dict(row._mapping)


def list_rules(*, conn: Connection, owner: str | None) -> list[dict[str, Any]]:
    """The rules of ``owner`` (every rule when None), newest first."""
    rows = conn.execute(
        text(
            f"SELECT {RULE_COLUMNS} FROM alert_rules "
            "WHERE CAST(:o AS text) IS NULL OR owner = :o ORDER BY id DESC"
        ),
        {"o": owner},
    ).fetchall()
    return [dict(r._mapping) for r in rows]


def get_rule(*, conn: Connection, rule_id: int, secret: bool = False) -> dict[str, Any]:
    """A rule (with its webhook secret and unsubscribe token when ``secret``); NotFound else."""
    extra = ", webhook_secret, unsubscribe_token" if secret else ""
    row = conn.execute(
        text(f"SELECT {RULE_COLUMNS}{extra} FROM alert_rules WHERE id = :i"), {"i": rule_id}
    ).first()
    if row is None:
        raise NotFound(f"règle d'alerte {rule_id} introuvable")
    return dict(row._mapping)


def update_rule(*, conn: Connection, rule_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Change the :data:`EDITABLE` fields in ``values``; the rule's record."""
    names = [n for n in EDITABLE if n in values]
    sets = ", ".join([f"{n} = :{n}" for n in names] + ["updated_at = now()"])
    row = conn.execute(
        text(f"UPDATE alert_rules SET {sets} WHERE id = :i RETURNING {RULE_COLUMNS}"),
        {n: values[n] for n in names} | {"i": rule_id},
    ).first()
    if row is None:
        raise NotFound(f"règle d'alerte {rule_id} introuvable")
    return dict(row._mapping)


def delete_rule(*, conn: Connection, rule_id: int) -> None:
    """Delete a rule and what it fired; NotFound if there is none."""
    if (
        conn.execute(
            text("DELETE FROM alert_rules WHERE id = :i RETURNING id"), {"i": rule_id}
        ).first()
        is None
    ):
        raise NotFound(f"règle d'alerte {rule_id} introuvable")


def deactivate_by_token(*, conn: Connection, token: str) -> dict[str, Any] | None:
    """Switch off the rule of an unsubscribe token; its name and zone, or None if unknown."""
    row = conn.execute(
        text(
            "UPDATE alert_rules SET active = false, updated_at = now() "
            "WHERE unsubscribe_token = :t RETURNING id, name, zone_kind, zone_code"
        ),
        {"t": token},
    ).first()
    return dict(row._mapping) if row else None


def rule_by_token(*, conn: Connection, token: str) -> dict[str, Any] | None:
    """The rule of an unsubscribe token (id, name, zone, active), or None if unknown."""
    row = conn.execute(
        text(
            "SELECT id, name, zone_kind, zone_code, active FROM alert_rules "
            "WHERE unsubscribe_token = :t"
        ),
        {"t": token},
    ).first()
    return dict(row._mapping) if row else None


def active_rules(*, conn: Connection) -> list[dict[str, Any]]:
    """Every active rule, oldest first, with its delivery targets."""
    rows = conn.execute(
        text(
            f"SELECT {RULE_COLUMNS}, webhook_secret, unsubscribe_token FROM alert_rules "
            "WHERE active ORDER BY id"
        )
    ).fetchall()
    return [dict(r._mapping) for r in rows]


def insert_event(
    *,
    conn: Connection,
    rule_id: int,
    condition: str,
    period: str,
    cells: Sequence[int],
    figures: dict[str, Any],
) -> int | None:
    """Record that a rule fired for a period; its id, or None when it had already fired."""
    found = conn.execute(
        text(
            "INSERT INTO alert_events (rule_id, condition, period, cells, figures) "
            "VALUES (:r, :c, :p, CAST(:cells AS bigint[]), :f) "
            "ON CONFLICT (rule_id, condition, period) DO NOTHING RETURNING id"
        ),
        {"r": rule_id, "c": condition, "p": period, "cells": list(cells), "f": Jsonb(figures)},
    ).scalar()
    return int(found) if found is not None else None


def insert_delivery(*, conn: Connection, event_id: int, channel: str, target: str) -> None:
    """A delivery to make, due now."""
    conn.execute(
        text(
            "INSERT INTO alert_deliveries (event_id, channel, target) VALUES (:e, :c, :t) "
            "ON CONFLICT (event_id, channel) DO NOTHING"
        ),
        {"e": event_id, "c": channel, "t": target},
    )


def claim_due_delivery(*, conn: Connection) -> dict[str, Any] | None:
    """The next pending delivery that is due, locked until the transaction ends (other workers
    skip it), with its alert and rule; None when nothing is due."""
    row = conn.execute(
        text(
            "SELECT d.id, d.channel, d.target, d.attempts, e.id AS event_id, e.condition, "
            "e.period, e.cells, e.figures, e.fired_at, r.id AS rule_id, r.name AS rule_name, "
            "r.zone_kind, r.zone_code, r.categories, r.webhook_secret, r.unsubscribe_token "
            "FROM alert_deliveries d JOIN alert_events e ON e.id = d.event_id "
            "JOIN alert_rules r ON r.id = e.rule_id "
            "WHERE d.state = 'pending' AND d.next_attempt_at <= now() "
            "ORDER BY d.next_attempt_at, d.id LIMIT 1 FOR UPDATE OF d SKIP LOCKED"
        )
    ).first()
    return dict(row._mapping) if row else None


def record_attempt(
    *,
    conn: Connection,
    delivery_id: int,
    state: str,
    error: str | None = None,
    retry_in_s: float = 0.0,
) -> None:
    """Count one attempt: ``sent``, ``failed`` for good, or ``pending`` again in
    ``retry_in_s`` seconds; ``error`` is kept for the events list."""
    conn.execute(
        text(
            "UPDATE alert_deliveries SET attempts = attempts + 1, state = :s, last_error = :e, "
            "sent_at = CASE WHEN CAST(:s AS text) = 'sent' THEN now() END, "
            "next_attempt_at = now() + make_interval(secs => CAST(:w AS double precision)) "
            "WHERE id = :i"
        ),
        {"s": state, "e": error, "w": retry_in_s, "i": delivery_id},
    )


def next_due_at(*, conn: Connection) -> Any:
    """When the next pending delivery is due (a timestamptz), or None."""
    return conn.execute(
        text("SELECT min(next_attempt_at) FROM alert_deliveries WHERE state = 'pending'")
    ).scalar()


def list_events(
    *, conn: Connection, owner: str | None, rule_id: int | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """What fired, newest first, with each delivery's state (``owner`` None: everyone's)."""
    rows = conn.execute(
        text(
            "SELECT e.id, e.rule_id, r.name AS rule_name, e.condition, e.period, e.cells, "
            "e.figures, e.fired_at, coalesce((SELECT jsonb_agg(jsonb_build_object("
            "'channel', d.channel, 'state', d.state, 'attempts', d.attempts, "
            "'last_error', d.last_error, 'sent_at', d.sent_at) ORDER BY d.channel) "
            "FROM alert_deliveries d WHERE d.event_id = e.id), '[]'::jsonb) AS deliveries "
            "FROM alert_events e JOIN alert_rules r ON r.id = e.rule_id "
            "WHERE (CAST(:o AS text) IS NULL OR r.owner = :o) "
            "AND (CAST(:r AS integer) IS NULL OR e.rule_id = :r) "
            "ORDER BY e.id DESC LIMIT :n"
        ),
        {"o": owner, "r": rule_id, "n": limit},
    ).fetchall()
    return [dict(r._mapping) for r in rows]
