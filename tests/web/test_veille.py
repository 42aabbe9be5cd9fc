"""The "Veille" panel of the map: an analyst creates an alert rule on a quartier through the
page, sees it listed, deletes it; a planner has no such panel."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.api.conftest import headers_for
from tests.web.conftest import Visit
from tests.web.test_carte import ROME


def test_an_analyst_creates_and_deletes_a_rule_in_the_map(
    visit: Visit, http: httpx.Client, api_keys: dict[str, str]
) -> None:
    analyst = headers_for("analyst", api_keys)
    visit.open(f"#{ROME}", key=api_keys["analyst"])
    page = visit.page
    expect(page.locator("#veille")).to_be_visible()
    page.click("#nouvelle-regle summary")
    page.fill("#regle-nom", "Vols au quartier (test web)")
    page.select_option("#regle-type-zone", "quartier")
    page.wait_for_selector("#regle-zone option", state="attached")
    quartier = page.locator("#regle-zone option").nth(3)
    code, name = quartier.get_attribute("value"), quartier.inner_text()
    page.select_option("#regle-zone", code)
    page.select_option("#regle-condition", "count_exceeds")
    page.select_option("#regle-categories", ["vol"])
    page.fill("#regle-email", "analyste@ville.test")
    page.click("#creer-regle")
    item = page.locator("#regles li", has_text="Vols au quartier (test web)")
    expect(item).to_be_visible()
    expect(item).to_contain_text(f"Quartier {name}")
    expect(page.locator("#message")).to_have_text("Règle « Vols au quartier (test web) » créée.")

    [rule] = [
        r
        for r in http.get("/alerts/rules", headers=analyst).json()["items"]
        if r["name"] == "Vols au quartier (test web)"
    ]
    assert (rule["zone_kind"], rule["zone_code"], rule["condition"]) == (
        "quartier",
        code,
        "count_exceeds",
    )
    assert (rule["categories"], rule["email"], rule["webhook_url"]) == (
        ["vol"],
        "analyste@ville.test",
        None,
    )

    item.get_by_role("button", name="Supprimer la règle Vols au quartier (test web)").click()
    expect(item).to_have_count(0)
    assert http.get(f"/alerts/rules/{rule['id']}", headers=analyst).status_code == 404
    assert visit.console_errors == []


def test_a_planner_has_no_alert_panel(visit: Visit, api_keys: dict[str, str]) -> None:
    visit.open(f"#{ROME}", key=api_keys["planner"])
    expect(visit.page.locator("#veille")).to_be_hidden()
    assert visit.console_errors == []
