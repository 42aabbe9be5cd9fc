"""Alert rules ("veille", issue 16 §4): checked and stored per owner, evaluated on the latest
runs and counts; what fires is recorded once per rule, condition and ISO week."""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from geotranquil.config import Settings
from geotranquil.db import alert_zones as zones
from geotranquil.db import alerts as db
from geotranquil.db.categories import category_codes
from geotranquil.db.models import ALERT_ZONE_KINDS
from geotranquil.errors import InvalidInput, NotFound
from geotranquil.roles import Role
from geotranquil.services.access import Caller
from geotranquil.stats.alert_rules import (
    CONDITIONS,
    HOTSPOT_CONDITIONS,
    iso_week,
    matching_cells,
    poisson_exceedance,
)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME = 200


def _owner_filter(caller: Caller) -> str | None:
    return None if caller.role is Role.ADMIN else caller.who


def _check(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    """The complete values of a rule, checked (French messages); the zone resolved."""
    name = str(values.get("name") or "").strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"nom de la règle obligatoire, {MAX_NAME} caractères au plus")
    kind = values.get("zone_kind")
    if kind not in ALERT_ZONE_KINDS:
        raise InvalidInput(
            f"type de zone « {kind} » inconnu ; types possibles : {', '.join(ALERT_ZONE_KINDS)}"
        )
    area = zones.find_area(conn=conn, kind=kind, code=values.get("zone_code"))
    if area is None:
        raise InvalidInput(f"zone {kind} « {values.get('zone_code') or ''} » introuvable")
    cats = list(dict.fromkeys(values.get("categories") or []))
    unknown = sorted(set(cats) - category_codes(conn=conn))
    if unknown:
        raise InvalidInput(
            f"catégories inconnues : {', '.join(unknown)} (voir geotranquil categories)"
        )
    if values.get("condition") not in CONDITIONS:
        raise InvalidInput(
            f"condition « {values.get('condition')} » inconnue ; conditions possibles : "
            f"{', '.join(CONDITIONS)}"
        )
    n_weeks, alpha = values.get("n_weeks", 8), values.get("alpha", 0.01)
    if not isinstance(n_weeks, int) or not 1 <= n_weeks <= 104:
        raise InvalidInput("n_weeks : nombre de semaines de référence entre 1 et 104")
    if not isinstance(alpha, int | float) or not 0 < alpha <= 0.5:
        raise InvalidInput("alpha : seuil de significativité entre 0 (exclu) et 0,5")
    email, url = values.get("email") or None, values.get("webhook_url") or None
    if email is None and url is None:
        raise InvalidInput("indiquez une adresse e-mail, une adresse de webhook, ou les deux")
    if email is not None and not EMAIL.match(email):
        raise InvalidInput(f"adresse e-mail « {email} » invalide")
    secret = values.get("webhook_secret") or None
    if url is not None:
        if not re.match(r"^https?://[^\s/]+", url):
            raise InvalidInput("adresse de webhook invalide : http:// ou https:// attendu")
        if secret is not None and len(secret) < 16:
            raise InvalidInput("secret du webhook : 16 caractères au moins")
        secret = secret or secrets.token_hex(32)
    else:
        secret = None
    return {
        "name": name,
        "zone_kind": kind,
        "zone_code": area["code"],
        "categories": cats,
        "condition": values["condition"],
        "n_weeks": n_weeks,
        "alpha": float(alpha),
        "email": email,
        "webhook_url": url,
        "webhook_secret": secret,
        "active": bool(values.get("active", True)),
    }


def create_rule(*, engine: Engine, caller: Caller, values: dict[str, Any]) -> dict[str, Any]:
    """Store a new rule of ``caller``; its record, with the webhook secret (shown once)."""
    with engine.begin() as conn:
        checked = _check(conn, values)
        rule = db.create_rule(
            conn=conn, values=checked | {"owner": caller.who}, token=secrets.token_urlsafe(24)
        )
    return rule | {"webhook_secret": checked["webhook_secret"]}


def list_rules(*, engine: Engine, caller: Caller) -> list[dict[str, Any]]:
    """The caller's rules (an admin's list holds everyone's)."""
    with engine.connect() as conn:
        return db.list_rules(conn=conn, owner=_owner_filter(caller))


def _own(conn: Connection, caller: Caller, rule_id: int) -> dict[str, Any]:
    rule = db.get_rule(conn=conn, rule_id=rule_id, secret=True)
    if caller.role is not Role.ADMIN and rule["owner"] != caller.who:
        raise NotFound(f"règle d'alerte {rule_id} introuvable")
    return rule


def get_rule(*, engine: Engine, caller: Caller, rule_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        rule = _own(conn, caller, rule_id)
    return {k: v for k, v in rule.items() if k not in ("webhook_secret", "unsubscribe_token")}


def update_rule(
    *, engine: Engine, caller: Caller, rule_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    """Change some fields of a rule of the caller (checked as a whole); its record."""
    with engine.begin() as conn:
        current = _own(conn, caller, rule_id)
        if "webhook_url" in changes and "webhook_secret" not in changes:
            changes = changes | {
                "webhook_secret": None
                if changes["webhook_url"] is None
                else current["webhook_secret"]
            }
        checked = _check(conn, current | changes)
        return db.update_rule(conn=conn, rule_id=rule_id, values=checked)


def delete_rule(*, engine: Engine, caller: Caller, rule_id: int) -> None:
    with engine.begin() as conn:
        _own(conn, caller, rule_id)
        db.delete_rule(conn=conn, rule_id=rule_id)


def list_events(
    *, engine: Engine, caller: Caller, rule_id: int | None = None
) -> list[dict[str, Any]]:
    """What fired for the caller's rules (everyone's for an admin), newest first."""
    with engine.connect() as conn:
        return db.list_events(conn=conn, owner=_owner_filter(caller), rule_id=rule_id)


def rule_of_link(*, engine: Engine, token: str) -> dict[str, Any]:
    """The rule an unsubscribe link names, changing nothing; NotFound for an unknown token."""
    with engine.connect() as conn:
        rule = db.rule_by_token(conn=conn, token=token)
    if rule is None:
        raise NotFound("lien de désabonnement inconnu")
    return rule


def unsubscribe(*, engine: Engine, token: str) -> dict[str, Any]:
    """Switch off the rule of an unsubscribe link; NotFound for an unknown token."""
    with engine.begin() as conn:
        rule = db.deactivate_by_token(conn=conn, token=token)
    if rule is None:
        raise NotFound("lien de désabonnement inconnu")
    return rule


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def evaluate(conn: Connection, rule: dict[str, Any], settings: Settings) -> dict[str, Any] | None:
    """Whether a rule fires now: ``{period, cells, figures}``, or None."""
    kind, code, cats, condition = (
        rule["zone_kind"],
        rule["zone_code"],
        rule["categories"],
        rule["condition"],
    )
    if condition in HOTSPOT_CONDITIONS:
        run = zones.latest_emerging_run(conn=conn, categories=cats)
        if run is None:
            return None
        wanted = HOTSPOT_CONDITIONS[condition]
        patterns = zones.run_patterns(conn=conn, run_id=run["id"], patterns=[wanted])
        cells = zones.zone_cells(conn=conn, kind=kind, code=code, resolution=run["resolution"])
        matched = matching_cells(patterns, cells, condition)
        if not matched:
            return None
        last_bin = run["period_end"] - timedelta(days=1)
        return {
            "period": iso_week(last_bin),
            "cells": matched,
            "figures": {
                "run_id": run["id"],
                "pattern": wanted,
                "cells": len(matched),
                "resolution": run["resolution"],
                "run_period": [str(run["period_start"]), str(run["period_end"])],
            },
        }
    if condition == "forecast_top1":
        fc = zones.latest_forecast_run(conn=conn, categories=cats)
        if fc is None:
            return None
        top = zones.top_forecast_cells(
            conn=conn, run_id=fc["id"], kind=kind, code=code, resolution=fc["resolution"]
        )
        if not top:
            return None
        return {
            "period": iso_week(fc["origin"]),
            "cells": [int(t["h3"]) for t in top],
            "figures": {
                "forecast_id": fc["id"],
                "method": fc["method"],
                "origin": str(fc["origin"]),
                "cells": len(top),
                "expected": round(sum(float(t["expected"]) for t in top), 3),
            },
        }
    area = zones.find_area(conn=conn, kind=kind, code=code)
    last = zones.last_event_day(conn=conn, timezone=settings.timezone)
    if area is None or last is None:
        return None
    monday, n = _monday(last), int(rule["n_weeks"])
    counts = zones.weekly_counts(
        conn=conn,
        area_id=area["id"],
        categories=cats,
        first_monday=monday - timedelta(weeks=n),
        weeks=n + 1,
        timezone=settings.timezone,
    )
    test = poisson_exceedance(counts[-1], counts[:-1], alpha=float(rule["alpha"]))
    if not test.fires:
        return None
    busiest = zones.busiest_cells(
        conn=conn, area_id=area["id"], categories=cats, monday=monday, timezone=settings.timezone
    )
    return {
        "period": iso_week(monday),
        "cells": [b["h3"] for b in busiest],
        "figures": {
            "count": test.count,
            "expected": test.expected,
            "p_value": test.p_value,
            "n_weeks": test.n_weeks,
            "alpha": test.alpha,
            "history": counts[:-1],
            "week_start": str(monday),
        },
    }


def fire(*, engine: Engine, settings: Settings) -> list[int]:
    """Evaluate every active rule and record what fires, with its deliveries to make, in one
    transaction; the ids of the alerts recorded now (none twice for a rule, condition and
    period, whatever the re-runs)."""
    fired = []
    with engine.begin() as conn:
        for rule in db.active_rules(conn=conn):
            outcome = evaluate(conn, rule, settings)
            if outcome is None:
                continue
            event_id = db.insert_event(
                conn=conn, rule_id=rule["id"], condition=rule["condition"], **outcome
            )
            if event_id is None:
                continue
            fired.append(event_id)
            for channel, target in (("email", rule["email"]), ("webhook", rule["webhook_url"])):
                if target:
                    db.insert_delivery(conn=conn, event_id=event_id, channel=channel, target=target)
    return fired
