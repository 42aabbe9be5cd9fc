"""``/alerts/rules`` and ``/alerts/events`` over real HTTP: analysts see their own rules, an
administrator all, others are refused; French validation errors; the unsubscribe link of a
real e-mail switches the rule off."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.db.keys import create_key
from geotranquil.services import alerts
from geotranquil.services.alert_delivery import deliver_due
from tests.live_server import live_server

from .conftest import SECRET, Mailbox, Planted, Receiver, rule_values


@pytest.fixture
def keys(planted: Planted, engine: Engine) -> dict[str, dict[str, str]]:
    out = {}
    with engine.begin() as conn:
        for name, role in (
            ("analyst1", "analyst"),
            ("analyst2", "analyst"),
            ("admin", "admin"),
            ("planner", "planner"),
            ("partner", "partner"),
        ):
            key, _ = create_key(conn=conn, name=f"test {name}", role=role)
            out[name] = {"X-API-Key": key}
    return out


@pytest.fixture(scope="module")
def base_url(settings: Settings, engine: Engine) -> Iterator[str]:
    with live_server(settings) as url:
        yield url


def test_rules_are_private_to_their_owner_and_checked_in_french(
    keys: dict[str, dict[str, str]],
    base_url: str,
    planted: Planted,
    engine: Engine,
    settings: Settings,
    smtp: tuple[Mailbox, int],
    receiver: Receiver,
) -> None:
    http = httpx.Client(base_url=base_url, timeout=30)
    body = rule_values(planted.quartier_a, webhook_url=receiver.url)
    generated = http.post("/alerts/rules", json=body, headers=keys["analyst1"]).json()
    assert re.fullmatch(r"[0-9a-f]{64}", generated["webhook_secret"])  # generated, shown once
    gone = http.delete(f"/alerts/rules/{generated['id']}", headers=keys["analyst1"])
    assert gone.status_code == 204
    body["webhook_secret"] = SECRET
    created = http.post("/alerts/rules", json=body, headers=keys["analyst1"])
    assert created.status_code == 201, created.text
    rule = created.json()
    assert created.headers["Location"] == f"/alerts/rules/{rule['id']}"
    assert rule["webhook_secret"] == SECRET
    assert (rule["zone_kind"], rule["zone_code"], rule["active"]) == (
        "quartier",
        planted.quartier_a,
        True,
    )
    assert (rule["n_weeks"], rule["alpha"]) == (8, 0.01)
    assert "unsubscribe_token" not in rule

    mine = http.get("/alerts/rules", headers=keys["analyst1"]).json()["items"]
    assert [r["id"] for r in mine] == [rule["id"]] and "webhook_secret" not in mine[0]
    assert http.get("/alerts/rules", headers=keys["analyst2"]).json() == {"items": []}
    assert http.get(f"/alerts/rules/{rule['id']}", headers=keys["analyst2"]).status_code == 404
    other = http.patch(
        f"/alerts/rules/{rule['id']}", json={"active": False}, headers=keys["analyst2"]
    )
    assert other.status_code == 404
    assert [r["id"] for r in http.get("/alerts/rules", headers=keys["admin"]).json()["items"]] == [
        rule["id"]
    ]
    for who, status in (("planner", 403), ("partner", 403)):
        refused = http.get("/alerts/rules", headers=keys[who])
        assert refused.status_code == status and "analyst" in refused.json()["description"]
    assert http.post("/alerts/rules", json=body).status_code == 401

    for change, status, words in (
        ({"zone_code": "nulle-part"}, 400, "zone quartier « nulle-part » introuvable"),
        ({"email": None, "webhook_url": None}, 400, "indiquez une adresse e-mail"),
        ({"categories": ["vol", "licorne"]}, 400, "catégories inconnues : licorne"),
        ({"email": "pas-une-adresse"}, 400, "adresse e-mail « pas-une-adresse » invalide"),
        ({"webhook_url": "ftp://x"}, 400, "http:// ou https:// attendu"),
        ({"condition": "tout"}, 400, "condition"),
        ({"alpha": 2}, 400, "alpha"),
    ):
        wrong = http.post("/alerts/rules", json=body | change, headers=keys["analyst1"])
        assert wrong.status_code == status, (change, wrong.text)
        assert words in wrong.json()["description"], wrong.text

    patched = http.patch(
        f"/alerts/rules/{rule['id']}",
        json={"name": "Vols du quartier A", "categories": ["vol"]},
        headers=keys["analyst1"],
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["categories"]) == ("Vols du quartier A", ["vol"])

    # it fires (planted cluster), the e-mail arrives, its unsubscribe link switches it off
    smtp[0].messages.clear()
    assert len(alerts.fire(engine=engine, settings=settings)) == 1
    deliver_due(engine=engine, settings=settings)
    events = http.get("/alerts/events", headers=keys["analyst1"]).json()["items"]
    assert [(e["rule_id"], e["condition"], e["period"]) for e in events] == [
        (rule["id"], "count_exceeds", "2026-W24")
    ]
    assert {d["channel"]: d["state"] for d in events[0]["deliveries"]} == {
        "email": "sent",
        "webhook": "sent",
    }
    assert format(planted.cluster_cell, "x") in events[0]["cells"]
    assert http.get("/alerts/events", headers=keys["analyst2"]).json() == {"items": []}
    [mail] = smtp[0].messages
    plain = mail.get_body(("plain",))
    assert plain is not None
    link = re.search(
        r"https://observatoire\.ville\.test(/alertes/desabonnement/\S+)", plain.get_content()
    )
    assert link is not None
    # following the link (a mail scanner does) asks, and changes nothing
    page = http.get(link.group(1))
    assert page.status_code == 200 and "Me désabonner" in page.text and 'method="post"' in page.text
    assert "Vols du quartier A" in page.text and 'lang="fr"' in page.text
    got = http.get(f"/alerts/rules/{rule['id']}", headers=keys["analyst1"]).json()
    assert got["active"] is True
    # the button (or the mail client's one-click, RFC 8058) posts to the same address
    done = http.post(link.group(1), data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "Désabonnement enregistré" in done.text
    got = http.get(f"/alerts/rules/{rule['id']}", headers=keys["analyst1"]).json()
    assert got["active"] is False
    assert "déjà désactivée" in http.get(link.group(1)).text
    assert http.get("/alertes/desabonnement/inconnu").status_code == 404
    assert http.post("/alertes/desabonnement/inconnu").status_code == 404

    assert http.delete(f"/alerts/rules/{rule['id']}", headers=keys["analyst2"]).status_code == 404
    assert http.delete(f"/alerts/rules/{rule['id']}", headers=keys["analyst1"]).status_code == 204
    assert http.get(f"/alerts/rules/{rule['id']}", headers=keys["admin"]).status_code == 404
