"""Saving a clicked arrondissement or quartier, or a picked saved zone, as a new zone."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import headers_for
from tests.integration.ingest_helpers import RUE_DE_ROME
from tests.web.conftest import Visit
from tests.web.test_carte import PERIOD, ROME, _click_at


def _save(visit: Visit, name: str) -> None:
    visit.page.click("#enregistrer-zone")
    visit.page.fill("#nom-zone", name)
    visit.page.press("#nom-zone", "Enter")
    visit.page.wait_for_selector(f"#zone-enregistree option:has-text('{name}')", state="attached")


def test_a_clicked_arrondissement_and_a_picked_zone_are_saved_as_new_zones(
    visit: Visit, http: httpx.Client, api_keys: dict[str, str]
) -> None:
    planner = headers_for("planner", api_keys)
    visit.open(f"#couche=hotspots&{PERIOD}&{ROME}", key=api_keys["planner"])
    visit.page.check("#mode-urbaniste")
    visit.page.select_option("#type-zone", "arrondissement")
    _click_at(visit, *RUE_DE_ROME)
    visit.page.wait_for_selector("#panneau[data-contenu=rapport]")
    clicked = http.get("/reverse", params={"lon": RUE_DE_ROME[0], "lat": RUE_DE_ROME[1]}).json()
    code = clicked["areas"]["arrondissement"]["code"]
    area = http.get(f"/collections/arrondissements/items/{code}").json()
    # the proposed name is the arrondissement's
    visit.page.click("#enregistrer-zone")
    assert visit.page.input_value("#nom-zone") == area["properties"]["name"]
    visit.page.fill("#nom-zone", "")
    _save(visit, "Arrondissement cliqué (test web)")

    def saved(name: str) -> dict[str, object]:
        found = [
            z for z in http.get("/zones", headers=planner).json()["zones"] if z["name"] == name
        ]
        assert len(found) == 1
        zone: dict[str, object] = http.get(f"/zones/{found[0]['id']}", headers=planner).json()
        return zone

    first = saved("Arrondissement cliqué (test web)")
    try:
        # the saved zone has the arrondissement's outline: the same report
        by_area = http.post(
            "/reports", json={"area": {"kind": "arrondissement", "code": code}}, headers=planner
        ).json()
        by_zone = http.post("/reports", json={"zone_id": first["id"]}, headers=planner).json()
        assert by_zone["totals"] == by_area["totals"]
        assert by_zone["zone"]["area_km2"] == pytest.approx(by_area["zone"]["area_km2"], rel=1e-3)

        # picked from the list, then saved again under a new name
        with visit.page.expect_request(lambda r: r.url.endswith("/reports")) as sent:
            visit.page.select_option("#zone-enregistree", str(first["id"]))
        assert sent.value.post_data_json["zone_id"] == first["id"]
        visit.page.wait_for_selector("#panneau[data-contenu=rapport]")
        _save(visit, "Copie de la zone (test web)")
        copy = saved("Copie de la zone (test web)")
        assert copy["id"] != first["id"]
        again = http.post("/reports", json={"zone_id": copy["id"]}, headers=planner).json()
        assert again["totals"] == by_area["totals"]
        http.delete(f"/zones/{copy['id']}", headers=planner)
    finally:
        http.delete(f"/zones/{first['id']}", headers=planner)
    assert visit.console_errors == []
