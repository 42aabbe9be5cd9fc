"""The pages' "Se connecter avec le compte Ville" in headless Chromium (Debian's), through the
provider's real login page, and back; screenshots in ``var/test-artifacts/web/``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.api.served import Served
from tests.oidc.provider import ProviderInfo, password_token
from tests.web.test_accessibilite import _axe

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "web"


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings in the page as it is now (the web tests'
    check, which evaluates axe-core past the pages' CSP)."""
    return [f"{v['id']}: {v['help']}" for v in _axe(page)]


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def provider_login(page: Page, provider: ProviderInfo, user: str) -> None:
    """At the provider's login page: type the login and password (= login) and send."""
    page.wait_for_url(f"{provider.issuer}/**")
    page.fill("#userfield", user)
    page.fill("#passwordfield", user)
    page.press("#passwordfield", "Enter")


def test_an_analyst_signs_in_on_the_map_and_out(
    page: Page, oidc_server: str, provider: ProviderInfo, served: Served
) -> None:
    page.goto(f"{oidc_server}/carte#couche=counts")
    button = page.get_by_role("link", name="Se connecter avec le compte Ville")
    expect(button).to_be_visible()
    expect(page.locator("#role")).to_have_text("Public")
    assert serious_violations(page) == []
    button.click()
    provider_login(page, provider, "rtyler")
    page.wait_for_url(f"{oidc_server}/carte**")
    expect(page.locator("#role")).to_have_text("Analyste — Rose Tyler")
    assert "couche=counts" in page.url  # back to the same view
    expect(page.locator("#case-evenements")).to_be_visible()  # raw events: analysts only
    expect(page.locator("#compte-ville")).to_be_hidden()
    expect(page.locator("#cle")).to_be_hidden()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "carte-compte-ville.png"))
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{oidc_server}/carte**")
    expect(page.locator("#role")).to_have_text("Public")
    expect(page.locator("#compte-ville")).to_be_visible()
    expect(page.locator("#case-evenements")).to_be_hidden()


def test_an_agent_signs_in_on_the_staff_page(
    page: Page,
    oidc_server: str,
    provider: ProviderInfo,
    served: Served,
    file_dumping: Callable[[str, str, str], str],
) -> None:
    sid = file_dumping("43.2931", "5.3851", "Encombrants (test navigateur)")
    token = password_token(provider, "cnoble")["access_token"]
    total = httpx.get(
        f"{oidc_server}/signalements",
        params={"state": "received,in_progress", "limit": 1},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()["total"]
    page.goto(f"{oidc_server}/traitement")
    expect(page.locator("body")).to_have_attribute("data-page", "pret")
    assert serious_violations(page) == []
    page.get_by_role("link", name="Se connecter avec le compte Ville").click()
    provider_login(page, provider, "cnoble")
    page.wait_for_url(f"{oidc_server}/traitement")
    expect(page.locator("#role")).to_have_text("Connecté : agent (Donna Noble)")
    expect(page.locator("body")).to_have_attribute("data-page", "pret")
    assert total >= 1
    rows = page.locator("#tableau tbody tr")
    expect(rows).to_have_count(min(total, 50))
    expect(page.locator(f'#tableau tr[data-id="{sid}"]')).to_be_visible()
    expect(page.locator("#message")).to_be_empty()
    page.screenshot(path=str(ARTIFACTS / "traitement-compte-ville.png"))


def test_a_planner_on_the_staff_page_is_told_and_may_sign_out(
    page: Page, oidc_server: str, provider: ProviderInfo
) -> None:
    page.goto(f"{oidc_server}/traitement")
    page.get_by_role("link", name="Se connecter avec le compte Ville").click()
    provider_login(page, provider, "msmith")
    page.wait_for_url(f"{oidc_server}/traitement")
    expect(page.locator("#message")).to_contain_text(
        "Votre compte Ville ne donne pas accès aux signalements"
    )
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{oidc_server}/traitement")
    expect(page.locator("#role")).to_have_text("Non connecté")
    expect(page.locator("#se-deconnecter")).to_be_hidden()
