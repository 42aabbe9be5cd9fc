"""Delivering fired alerts: a French e-mail with a small map (SMTP), a signed JSON webhook.

Each delivery is claimed in its own transaction (``FOR UPDATE SKIP LOCKED``: two workers never
send the same one), sent, and recorded ``sent``; a failure is recorded ``pending`` again after
``alerts_backoff_s * 2 ** (attempt - 1)`` seconds, and ``failed`` after ``alerts_max_attempts``
(kept, with its last error, in ``GET /alerts/events``). A worker killed between the send and
the commit sends that one delivery again: at least once, never lost; the receiver can tell a
repeat by ``X-Geotranquil-Delivery`` (webhook) or ``Message-ID`` (e-mail).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import quote, urlencode

from shapely.geometry import shape
from shapely.ops import unary_union
from sqlalchemy import Engine

from geotranquil.charts.alert_map import alert_map_png
from geotranquil.config import Settings
from geotranquil.db import alert_zones as zones
from geotranquil.db import alerts as db
from geotranquil.services.mail import send_email
from geotranquil.stats.alert_rules import CONDITION_LABELS_FR

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Geotranquil-Signature"
TIMESTAMP_HEADER = "X-Geotranquil-Timestamp"
DELIVERY_HEADER = "X-Geotranquil-Delivery"


def sign(body: bytes, secret: str) -> str:
    """The signature header of a webhook body: ``sha256=`` and the hex HMAC-SHA256.

    Examples
    --------
    >>> sign(b'{"a": 1}', "secret")[:20]
    'sha256=9efa14a18410a'
    """
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class DeliveryReport:
    """What one pass did: deliveries sent, put back for a later attempt, failed for good."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


def _links(item: dict[str, Any], settings: Settings, centre: tuple[float, float] | None) -> dict:
    base = settings.public_base_url.rstrip("/")
    params: dict[str, str] = {}
    if item["categories"]:
        params["categories"] = ",".join(item["categories"])
    if centre is not None:
        params |= {"zoom": "14", "centre": f"{centre[0]:.5f},{centre[1]:.5f}"}
    if "run_id" in item["figures"]:
        params["calcul"] = str(item["figures"]["run_id"])
    return {
        "map": f"{base}/carte/#{urlencode(params, safe=',')}",
        "unsubscribe": f"{base}/alertes/desabonnement/{quote(item['unsubscribe_token'])}",
    }


def _summary_fr(item: dict[str, Any]) -> str:
    f = item["figures"]
    if item["condition"] == "count_exceeds":
        return (
            f"{f['count']} faits la semaine du {f['week_start']}, pour {f['expected']:.2f} "
            f"attendus (moyenne des {f['n_weeks']} semaines précédentes) ; test de Poisson "
            f"unilatéral : p = {f['p_value']:.3g} (seuil {f['alpha']:g})."
        )
    if item["condition"] == "forecast_top1":
        return (
            f"{f['cells']} cellule(s) de la zone dans le 1 % le plus exposé de la ville "
            f"(prévision {f['method']} à partir du {f['origin']}, {f['expected']} faits attendus)."
        )
    return f"{f['cells']} cellule(s) concernée(s) (calcul n° {f['run_id']})."


def payload(item: dict[str, Any], links: dict[str, str]) -> dict[str, Any]:
    """The JSON body of a webhook."""
    return {
        "alert_id": item["event_id"],
        "rule": {
            "id": item["rule_id"],
            "name": item["rule_name"],
            "zone": {"kind": item["zone_kind"], "code": item["zone_code"]},
            "categories": list(item["categories"]),
        },
        "condition": item["condition"],
        "period": item["period"],
        "cells": [format(int(c), "x") for c in item["cells"]],
        "figures": item["figures"],
        "p_value": item["figures"].get("p_value"),
        "summary_fr": _summary_fr(item),
        "map_url": links["map"],
        "fired_at": item["fired_at"].isoformat(),
    }


def send_webhook(item: dict[str, Any], links: dict[str, str], settings: Settings) -> None:
    """POST the signed JSON body; an error unless the receiver answers 2xx."""
    body = json.dumps(payload(item, links), ensure_ascii=False, sort_keys=True).encode()
    request = urllib.request.Request(
        item["target"],
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "geotranquil-alerts",
            SIGNATURE_HEADER: sign(body, item["webhook_secret"]),
            TIMESTAMP_HEADER: str(int(time.time())),
            DELIVERY_HEADER: str(item["id"]),
        },
    )
    with urllib.request.urlopen(request, timeout=settings.alerts_webhook_timeout_s) as answer:
        answer.read()


def email_message(
    item: dict[str, Any], links: dict[str, str], png: bytes, settings: Settings
) -> EmailMessage:
    """The French e-mail: text, and HTML with the map inline."""
    label = CONDITION_LABELS_FR[item["condition"]]
    zone = f"{item['zone_kind']} {item['zone_code']}"
    # no folding of long headers: folded encoded words decode with doubled spaces
    msg = EmailMessage(policy=policy.default.clone(max_line_length=998))
    msg["Subject"] = f"[Veille] {item['rule_name']} : {label} ({item['period']})"
    msg["From"] = settings.smtp_from
    msg["To"] = item["target"]
    msg["Message-ID"] = make_msgid(idstring=f"alerte-{item['id']}")
    msg["List-Unsubscribe"] = f"<{links['unsubscribe']}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058: a POST acts
    summary = _summary_fr(item)
    msg.set_content(
        f"Bonjour,\n\nVotre règle de veille « {item['rule_name']} » ({zone}) s'est déclenchée "
        f"pour la période {item['period']} : {label}.\n\n{summary}\n\n"
        f"Voir sur la carte : {links['map']}\n\n"
        f"Ne plus recevoir ces alertes : {links['unsubscribe']}\n"
    )
    cid = make_msgid(domain="geotranquil")
    msg.add_alternative(
        f"<html><body><p>Bonjour,</p><p>Votre règle de veille « <b>{_esc(item['rule_name'])}"
        f"</b> » ({_esc(zone)}) s'est déclenchée pour la période {item['period']} : "
        f"{_esc(label)}.</p><p>{_esc(summary)}</p>"
        f'<p><img src="cid:{cid[1:-1]}" alt="Carte de la zone et des cellules concernées" '
        f'width="480" height="360"></p><p><a href="{_esc(links["map"])}">Voir sur la carte</a>'
        f'</p><p style="font-size:small"><a href="{_esc(links["unsubscribe"])}">'
        "Ne plus recevoir ces alertes</a></p></body></html>",
        subtype="html",
    )
    html = msg.get_payload()[1]  # type: ignore[index]
    assert isinstance(html, EmailMessage)
    html.add_related(png, maintype="image", subtype="png", cid=cid, filename="carte.png")
    return msg


def _esc(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def next_due(*, engine: Engine) -> datetime | None:
    """When the next pending delivery is due, or None when none waits."""
    with engine.connect() as conn:
        due: datetime | None = db.next_due_at(conn=conn)
    return due


def deliver_due(*, engine: Engine, settings: Settings) -> DeliveryReport:
    """Make every delivery that is due now (each in its own transaction)."""
    report = DeliveryReport()
    while True:
        with engine.begin() as conn:
            item = db.claim_due_delivery(conn=conn)
            if item is None:
                return report
            outline, cells = zones.map_shapes(
                conn=conn, kind=item["zone_kind"], code=item["zone_code"], cells=item["cells"]
            )
            centre = None
            shapes = [shape(g) for g in (cells or ([outline] if outline else []))]
            if shapes:
                c = unary_union(shapes).centroid
                centre = (c.x, c.y)
            links = _links(item, settings, centre)
            try:
                if item["channel"] == "webhook":
                    send_webhook(item, links, settings)
                else:
                    png = alert_map_png(outline, cells, f"{item['rule_name']} — {item['period']}")
                    send_email(email_message(item, links, png, settings), settings)
            except (OSError, urllib.error.URLError, smtplib.SMTPException, RuntimeError) as exc:
                attempt = item["attempts"] + 1
                error = f"{type(exc).__name__}: {exc}"[:500]
                if attempt >= settings.alerts_max_attempts:
                    db.record_attempt(
                        conn=conn, delivery_id=item["id"], state="failed", error=error
                    )
                    report.failed += 1
                else:
                    wait = settings.alerts_backoff_s * 2 ** (attempt - 1)
                    db.record_attempt(
                        conn=conn,
                        delivery_id=item["id"],
                        state="pending",
                        error=error,
                        retry_in_s=wait,
                    )
                    report.retried += 1
                log.warning(
                    "alert delivery %s (%s) attempt %s failed: %s",
                    item["id"],
                    item["channel"],
                    attempt,
                    error,
                )
                continue
            db.record_attempt(conn=conn, delivery_id=item["id"], state="sent")
            report.sent += 1
