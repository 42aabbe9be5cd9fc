"""Alert rules and what fired (issue 16 §4): ``/alerts/rules``, ``/alerts/events``, and the
unsubscribe page of the e-mails (``/alertes/desabonnement/{token}``, French, no key needed)."""

from __future__ import annotations

import html
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from geotranquil.api.deps import CallerDep, ServicesDep, access
from geotranquil.errors import NotFound
from geotranquil.roles import ALERTS, EVERYONE
from geotranquil.services import alerts

router = APIRouter(tags=["alerts"])

Condition = Literal[
    "new_hotspot", "intensifying_hotspot", "consecutive_hotspot", "forecast_top1", "count_exceeds"
]
ZoneKind = Literal["commune", "arrondissement", "quartier", "zone"]


class RuleBody(BaseModel):
    """A new alert rule."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    zone_kind: ZoneKind = Field(
        description="commune (whole city), arrondissement, quartier or zone (a saved zone)"
    )
    zone_code: str | None = Field(
        None,
        max_length=50,
        description="code of the area, or id of a saved zone; none for the commune",
    )
    categories: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=100, description="category codes; empty: all"
    )
    condition: Condition
    n_weeks: int = Field(8, ge=1, le=104, description="count_exceeds: weeks the mean is taken on")
    alpha: float = Field(0.01, gt=0, le=0.5, description="count_exceeds: alert when p < alpha")
    email: str | None = Field(None, max_length=254)
    webhook_url: str | None = Field(None, max_length=2000)
    webhook_secret: str | None = Field(
        None,
        min_length=16,
        max_length=200,
        description="HMAC-SHA256 key of the webhook's signature; generated (and returned once) "
        "when omitted",
    )
    active: bool = True


class RulePatch(BaseModel):
    """Fields of a rule to change (the others stay)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    zone_kind: ZoneKind | None = None
    zone_code: str | None = Field(None, max_length=50)
    categories: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=100)
    condition: Condition | None = None
    n_weeks: int | None = Field(None, ge=1, le=104)
    alpha: float | None = Field(None, gt=0, le=0.5)
    email: str | None = Field(None, max_length=254)
    webhook_url: str | None = Field(None, max_length=2000)
    webhook_secret: str | None = Field(None, min_length=16, max_length=200)
    active: bool | None = None


def _rule(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in ("unsubscribe_token",)}
    for key in ("created_at", "updated_at"):
        out[key] = row[key].isoformat()
    return out


RuleId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get(
    "/alerts/rules", summary="The caller's alert rules (all of them for an admin)", **access(ALERTS)
)
def rule_list(services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    rows = alerts.list_rules(engine=services.engine, caller=caller)
    return {"items": [_rule(r) for r in rows]}


@router.post(
    "/alerts/rules", status_code=201, summary="Subscribe to an alert rule", **access(ALERTS)
)
def rule_create(
    body: RuleBody, services: ServicesDep, caller: CallerDep, response: Response
) -> dict[str, Any]:
    rule = alerts.create_rule(engine=services.engine, caller=caller, values=body.model_dump())
    response.headers["Location"] = f"/alerts/rules/{rule['id']}"
    return _rule(rule)


@router.get("/alerts/rules/{rule_id}", summary="One alert rule", **access(ALERTS))
def rule_get(rule_id: RuleId, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return _rule(alerts.get_rule(engine=services.engine, caller=caller, rule_id=rule_id))


@router.patch("/alerts/rules/{rule_id}", summary="Change an alert rule", **access(ALERTS))
def rule_patch(
    rule_id: RuleId, body: RulePatch, services: ServicesDep, caller: CallerDep
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    rule = alerts.update_rule(
        engine=services.engine, caller=caller, rule_id=rule_id, changes=changes
    )
    return _rule(rule)


@router.delete(
    "/alerts/rules/{rule_id}", status_code=204, summary="Delete an alert rule", **access(ALERTS)
)
def rule_delete(rule_id: RuleId, services: ServicesDep, caller: CallerDep) -> Response:
    alerts.delete_rule(engine=services.engine, caller=caller, rule_id=rule_id)
    return Response(status_code=204)


@router.get(
    "/alerts/events", summary="Alerts that fired, with each delivery's state", **access(ALERTS)
)
def event_list(
    services: ServicesDep,
    caller: CallerDep,
    rule: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> dict[str, Any]:
    rows = alerts.list_events(engine=services.engine, caller=caller, rule_id=rule)
    items = []
    for r in rows:
        items.append(
            r
            | {
                "cells": [format(int(c), "x") for c in r["cells"]],
                "fired_at": r["fired_at"].isoformat(),
            }
        )
    return {"items": items}


_PAGE = (
    '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title>'
    '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
    "<body><main><h1>{title}</h1><p>{text}</p></main></body></html>"
)


_UNKNOWN = _PAGE.format(
    title="Lien inconnu",
    text="Ce lien de désabonnement est inconnu ou la règle a été supprimée : aucune alerte ne "
    "vous sera envoyée par elle.",
)


@router.get("/alertes/desabonnement/{token}", include_in_schema=False, **access(EVERYONE))
def unsubscribe_page(
    token: Annotated[str, Path(max_length=100)], services: ServicesDep
) -> Response:
    """The link of the e-mails asks before it acts: mail scanners and link previews follow
    links (GET), and must not switch a rule off; the button posts to the same address, as
    the e-mail's one-click ``List-Unsubscribe-Post`` does (RFC 8058)."""
    try:
        rule = alerts.rule_of_link(engine=services.engine, token=token)
    except NotFound:
        return HTMLResponse(_UNKNOWN, status_code=404)
    name = html.escape(rule["name"])
    if not rule["active"]:
        text = f"La règle « {name} » est déjà désactivée : elle ne vous envoie plus d'alerte."
    else:
        text = (
            f"Ne plus recevoir les alertes de la règle « {name} » ?</p>"
            '<form method="post"><button type="submit">Me désabonner</button></form><p>'
            "Vous pourrez la réactiver depuis la carte (panneau « Veille »)."
        )
    return HTMLResponse(_PAGE.format(title="Désabonnement", text=text))


@router.post("/alertes/desabonnement/{token}", include_in_schema=False, **access(EVERYONE))
def unsubscribe(token: Annotated[str, Path(max_length=100)], services: ServicesDep) -> Response:
    try:
        rule = alerts.unsubscribe(engine=services.engine, token=token)
    except NotFound:
        return HTMLResponse(_UNKNOWN, status_code=404)
    page = _PAGE.format(
        title="Désabonnement enregistré",
        text=(
            f"Vous ne recevrez plus les alertes de la règle « {html.escape(rule['name'])} ». "
            "Vous pouvez la réactiver depuis la carte (panneau « Veille »)."
        ),
    )
    return HTMLResponse(page)
