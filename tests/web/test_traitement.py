"""The staff's page (``/traitement``) in headless Chromium: an agent signs in, opens a resident's
report with its photo and contact, resolves it with a note, and the resident's Open311 view
shows it; a planner's key is refused with a message that says why."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.open311.conftest import (  # noqa: F401
    BASE,
    Places,
    file_report,
    jpeg_with_gps,
    keys,
    o311_settings,
    o311_url,
    places,
)
from tests.web.conftest import VIEWPORT
from tests.web.test_accessibilite import _axe, _describe


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, locale="fr-FR", timezone_id="Europe/Paris")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == []


def _sign_in(page: Page, key: str) -> None:
    page.evaluate("document.body.dataset.page = 'attente'")
    page.get_by_label("Clé API").fill(key)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_selector("body[data-page=pret]")


def test_an_agent_resolves_a_report_with_a_note(
    page: Page,
    o311_url: str,  # noqa: F811
    keys: dict[str, str],  # noqa: F811
    places: Places,  # noqa: F811
    artifacts: Path,
) -> None:
    lon, lat = places.next()
    tag = uuid.uuid4().hex[:8]
    with httpx.Client(base_url=o311_url, timeout=30) as client:
        filed = file_report(
            client,
            keys["partner"],
            files={"media": ("photo.jpg", jpeg_with_gps((800, 600)), "image/jpeg")},
            service_code="eclairage_defaillant",
            lat=lat,
            long=lon,
            description=f"Lampadaire éteint depuis trois jours {tag}",
            email=f"riveraine.{tag}@example.org",
            first_name="Aïcha",
            **{"attribute[etat]": "eteinte"},
        )
        assert filed.status_code == 201, filed.text
        number = filed.json()[0]["service_request_id"]

    page.goto(f"{o311_url}/traitement")
    page.wait_for_selector("body[data-page=pret]")
    _sign_in(page, keys["planner"])
    expect(page.locator("#message")).to_contain_text("ne donne pas accès aux signalements")
    expect(page.locator("#tableau tbody tr")).to_have_count(0)

    _sign_in(page, keys["agent"])
    expect(page.locator("#role")).to_have_text("Connecté : agent")
    page.get_by_role("button", name=f"Ouvrir le signalement n° {number}").click()
    expect(page.locator("#detail-titre")).to_contain_text(number)
    page.wait_for_function("() => document.querySelector('#photo img')?.naturalWidth === 800")
    detail = page.locator("#detail")
    expect(detail).to_contain_text(f"riveraine.{tag}@example.org")
    expect(detail).to_contain_text("Aïcha")
    expect(detail).to_contain_text("Effacées automatiquement le")
    expect(page.locator("#detail dt:has-text('La lumière est') + dd")).to_have_text("éteinte")
    found = _axe(page)
    assert found == [], _describe(found)
    page.screenshot(path=str(artifacts / "traitement-detail.png"))

    page.get_by_label("Nouvel état").select_option("resolved")
    note = "Lampe remplacée ce matin, merci pour votre signalement."
    page.get_by_label("Note pour l'habitant (publique, sans donnée personnelle)").fill(note)
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#message.ok")).to_contain_text("Résolu")
    # not open any more: the list is refreshed after the message, the assertion waits for it
    expect(page.locator(f"#tableau tbody tr[data-id='{number}']")).to_have_count(0)
    public = httpx.get(f"{o311_url}{BASE}/requests/{number}.json", timeout=30).json()[0]
    assert (public["status"], public["workflow_state"], public["status_notes"]) == (
        "closed",
        "resolved",
        note,
    )
    expect(page.locator(".historique li").last).to_have_text(
        re.compile(re.escape(f"Reçu → Résolu (test agent) — « {note} »") + "$")
    )
