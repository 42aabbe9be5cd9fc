"""The time bin control (day, week, month): in the URL, and driving the panel's charts."""

from __future__ import annotations

from typing import Any

import h3
import httpx

from tests.api.conftest import headers_for
from tests.integration.ingest_helpers import RUE_DE_ROME
from tests.web.conftest import Visit
from tests.web.test_carte import PERIOD, ROME, _click_at


def _bars(visit: Visit) -> list[tuple[str, int]]:
    bars = visit.page.locator("#panneau svg.graphique rect.barre")
    return [
        (
            bars.nth(i).get_attribute("data-debut") or "",
            int(bars.nth(i).get_attribute("data-n") or -1),
        )
        for i in range(bars.count())
    ]


def test_the_cell_chart_follows_the_time_bin(
    visit: Visit, http: httpx.Client, api_keys: dict[str, str]
) -> None:
    hex_id = h3.latlng_to_cell(RUE_DE_ROME[1], RUE_DE_ROME[0], 9)
    visit.open(f"#couche=hotspots&pas=mois&{PERIOD}&{ROME}", key=api_keys["analyst"])
    assert visit.page.input_value("#pas") == "month"
    with visit.page.expect_request(lambda r: f"/cells/{hex_id}" in r.url) as sent:
        _click_at(visit, *RUE_DE_ROME)
    assert httpx.URL(sent.value.url).params["bin"] == "month"
    visit.page.wait_for_selector("#panneau[data-contenu=hexagone]")
    state = visit.page.evaluate("window.carte.state")
    analyst = headers_for("analyst", api_keys)

    def api(bin: str) -> dict[str, Any]:
        params = {"datetime": f"{state['start']}/{state['end']}", "bin": bin}
        doc: dict[str, Any] = http.get(f"/cells/{hex_id}", params=params, headers=analyst).json()
        return doc

    month = api("month")
    assert _bars(visit) == [(x["start"], x["n"]) for x in month["series"]]
    assert 5 <= len(month["series"]) <= 7  # the served half-year
    assert visit.page.inner_text("#panneau h3:has-text('Par mois')")

    # by day: the URL, the request and the chart change; the panel stays on the same cell
    with visit.page.expect_request(lambda r: f"/cells/{hex_id}" in r.url) as sent:
        visit.change(lambda: visit.page.select_option("#pas", "day"))
    assert httpx.URL(sent.value.url).params["bin"] == "day"
    assert "pas=jour" in visit.page.url
    visit.page.wait_for_selector("#panneau svg.graphique[data-pas=jour]")
    day = api("day")
    assert _bars(visit) == [(x["start"], x["n"]) for x in day["series"]]
    assert len(day["series"]) > 150 and sum(n for _, n in _bars(visit)) == day["count"]
    assert visit.console_errors == []


def test_the_report_chart_follows_the_time_bin(
    visit: Visit, http: httpx.Client, api_keys: dict[str, str]
) -> None:
    visit.open(f"#couche=hotspots&pas=jour&{PERIOD}&{ROME}", key=api_keys["planner"])
    visit.page.check("#mode-urbaniste")
    with visit.page.expect_request(lambda r: r.url.endswith("/reports")) as sent:
        _click_at(visit, *RUE_DE_ROME)
    visit.page.wait_for_selector("#panneau[data-contenu=rapport]")
    body: dict[str, Any] = sent.value.post_data_json
    assert body["bin"] == "day" and body["area"]["kind"] == "quartier"
    planner = headers_for("planner", api_keys)
    api = http.post("/reports", json=body, headers=planner).json()
    assert _bars(visit) == [(x["start"], x["n"]) for x in api["series"]]
    assert sum(n for _, n in _bars(visit)) == api["totals"]["n"] > 0

    # a new bin asks for the report again
    with visit.page.expect_request(lambda r: r.url.endswith("/reports")) as again:
        visit.change(lambda: visit.page.select_option("#pas", "month"))
    assert again.value.post_data_json["bin"] == "month"
    visit.page.wait_for_selector("#panneau svg.graphique[data-pas=mois]")
    monthly = http.post("/reports", json={**body, "bin": "month"}, headers=planner).json()
    assert _bars(visit) == [(x["start"], x["n"]) for x in monthly["series"]]
    assert visit.console_errors == []


def test_the_emerging_layer_uses_a_run_of_the_chosen_bin(
    visit: Visit, http: httpx.Client, api_keys: dict[str, str]
) -> None:
    planner = headers_for("planner", api_keys)
    runs = http.get("/runs", headers=planner).json()["hotspot_runs"]
    emerging = [r for r in runs if r["kind"] == "emerging"]
    bins = {r["bin"] for r in emerging}
    assert bins  # the served data has an emerging run
    chosen = sorted(bins)[0]
    url_bin = {"day": "jour", "week": "semaine", "month": "mois"}[chosen]
    visit.open(f"#couche=emerging&pas={url_bin}&{ROME}", key=api_keys["planner"])
    offered = visit.page.locator("#calcul option[value]:not([value=''])")
    ids = {int(offered.nth(i).get_attribute("value") or 0) for i in range(offered.count())}
    assert ids == {r["id"] for r in emerging if r["bin"] == chosen}
    assert f"pas : {dict(day='jour', week='semaine', month='mois')[chosen]}" in (
        visit.page.inner_text("#description")
    )
    # a bin no emerging run was computed with: every run stays on offer
    other = next(b for b in ("day", "week", "month") if b not in bins)
    visit.change(lambda: visit.page.select_option("#pas", other))
    ids = {int(offered.nth(i).get_attribute("value") or 0) for i in range(offered.count())}
    assert ids == {r["id"] for r in emerging}
    assert visit.console_errors == []
