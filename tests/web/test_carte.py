"""The web map against the real server and database, in headless Chromium.

Each test drives the page as a person would (clicks, keys, form fields) and checks what it
shows against the HTTP API and the pixels it draws.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import h3
import httpx
import mapbox_vector_tile
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.api.conftest import headers_for
from tests.api.served import END, HOT_VOL, START
from tests.integration.ingest_helpers import RUE_DE_ROME
from tests.web.conftest import Visit

ROME = f"zoom=13.5&centre={RUE_DE_ROME[0]},{RUE_DE_ROME[1]}"
PERIOD = f"debut={START.isoformat()}&fin={(END - timedelta(days=1)).isoformat()}"
BACKGROUND = np.array([0xEE, 0xF0, 0xF2])
OPACITY = 0.8
REPO = Path(__file__).resolve().parents[2]
PALETTES = json.loads((REPO / "src/geotranquil/web/static/palettes.json").read_text("utf-8"))
GI_COLOURS = {
    b["bin"]: tuple(int(b["color"][i : i + 2], 16) for i in (1, 3, 5))
    for b in PALETTES["gi_bins"]
    if b["bin"] > 0
}


def _blend(rgb: tuple[int, int, int]) -> np.ndarray:
    return OPACITY * np.array(rgb) + (1 - OPACITY) * BACKGROUND


def _pixels_like(png: bytes, rgb: tuple[int, int, int], tolerance: float = 10.0) -> int:
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)
    distance = np.linalg.norm(image - _blend(rgb), axis=2)
    return int((distance <= tolerance).sum())


def _number(text: str) -> float:
    return float(text.replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", "."))


def _click_at(visit: Visit, lon: float, lat: float) -> None:
    point = visit.page.evaluate("([x, y]) => window.carte.map.project([x, y])", [lon, lat])
    box = visit.page.locator("#carte").bounding_box()
    assert box is not None
    visit.page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])


def _map_png(visit: Visit) -> bytes:
    return visit.page.locator("#carte canvas").screenshot()


def test_the_page_loads_without_console_errors(visit: Visit, artifacts: Path) -> None:
    visit.open()
    visit.page.screenshot(path=str(artifacts / "carte-public.png"))
    assert visit.console_errors == []
    expect(visit.page.locator("#role")).to_have_text("Public")
    # offline base map from our own tiles, names as labels, MapLibre from our own server
    assert visit.tile_requests("basemap")
    expect(visit.page.locator(".etiquette")).not_to_have_count(0)
    assert all(u.startswith((visit.base, "data:", "blob:")) for u in visit.requests)
    assert "résolution 8" in visit.page.inner_text("#description")
    assert "Nombre d'événements" in visit.page.inner_text("#legende")


def test_the_hot_spot_layer_is_drawn_in_the_expected_reds(
    visit: Visit, http: httpx.Client, api_keys: dict[str, str], artifacts: Path
) -> None:
    planner = headers_for("planner", api_keys)
    cells = http.get("/collections/hotspots/items", params={"limit": 5000}, headers=planner)
    bins = [f["properties"]["gi_bin"] for f in cells.json()["features"]]
    hot = {b for b in bins if b in (2, 3)}
    assert 3 in hot  # the served data's planted hot spot

    visit.open(f"#couche=hotspots&{ROME}", key=api_keys["planner"])
    visit.page.screenshot(path=str(artifacts / "carte-points-chauds.png"))
    png = _map_png(visit)
    for b in hot:
        assert _pixels_like(png, GI_COLOURS[b]) > 150, f"no hexagon drawn for Gi* bin {b}"
    assert "Points chauds (Gi*)" in visit.page.inner_text("#description")
    assert "Point chaud — 99 %" in visit.page.inner_text("#legende")

    # the same place with the counts layer: none of those reds
    visit.change(lambda: visit.page.check("input[name=couche][value=counts]"))
    assert _pixels_like(_map_png(visit), GI_COLOURS[3]) < 20
    assert visit.console_errors == []


def test_categories_and_period_change_the_requests_and_the_map(
    visit: Visit, api_keys: dict[str, str], artifacts: Path
) -> None:
    visit.open(f"#couche=counts&resolution=9&{ROME}", key=api_keys["planner"])
    before = _map_png(visit)
    assert any("datetime=" in u for u in visit.tile_requests("counts-r9"))

    visit.requests.clear()
    visit.page.click("#aucune")
    visit.change(lambda: visit.page.check("input[name=categorie][value=vol]"))
    only_vol = visit.tile_requests("counts-r9")
    assert only_vol and all("categories=vol" in u for u in only_vol)
    after_categories = _map_png(visit)
    assert after_categories != before
    assert "Vols, cambriolages" in visit.page.inner_text("#description")
    assert "categories=vol" in visit.page.url

    # a period that ends before the planted hot spot
    visit.requests.clear()
    visit.change(lambda: visit.page.fill("#fin", "2025-03-31"))
    period = visit.tile_requests("counts-r9")
    assert period and all("2025-03-31" in httpx.URL(u).params["datetime"] for u in period)
    assert _map_png(visit) != after_categories
    visit.page.screenshot(path=str(artifacts / "carte-comptages-vols.png"))

    # the link reproduces the view
    url = visit.page.url
    description = visit.page.inner_text("#description")
    visit.page.goto("about:blank")
    visit.page.goto(url)
    visit.wait_idle()
    assert visit.page.inner_text("#description") == description
    assert visit.page.is_checked("input[name=categorie][value=vol]")
    assert not visit.page.is_checked("input[name=categorie][value=depot_sauvage]")
    assert visit.console_errors == []


def test_clicking_a_cell_shows_the_same_numbers_as_the_api(
    visit: Visit, http: httpx.Client, api_keys: dict[str, str], artifacts: Path
) -> None:
    hex_id = h3.latlng_to_cell(RUE_DE_ROME[1], RUE_DE_ROME[0], 9)
    visit.open(f"#couche=hotspots&{PERIOD}&{ROME}", key=api_keys["analyst"])
    _click_at(visit, *RUE_DE_ROME)
    visit.page.wait_for_selector("#panneau[data-contenu=hexagone]")
    visit.page.screenshot(path=str(artifacts / "carte-hexagone.png"))
    if os.environ.get("GEOTRANQUIL_UPDATE_DOCS") == "1":  # the README's picture, on demand
        shutil.copyfile(artifacts / "carte-hexagone.png", REPO / "docs" / "carte.png")
    panel = visit.page.locator("#panneau")
    assert panel.locator("[data-hex]").inner_text() == hex_id

    analyst = headers_for("analyst", api_keys)
    state = visit.page.evaluate("window.carte.state")
    datetime = f"{state['start']}/{state['end']}"
    api = http.get(f"/cells/{hex_id}", params={"datetime": datetime}, headers=analyst).json()
    counts = http.get(
        "/collections/counts-r9/items",
        params={"hex_id": hex_id, "datetime": datetime},
        headers=analyst,
    ).json()["features"][0]["properties"]
    shown = int(_number(panel.locator("[data-champ=count]").inner_text()))
    assert shown == api["count"] == counts["count"] >= HOT_VOL
    for line in api["by_category"]:
        row = panel.locator(f"tr[data-categorie={line['category']}] td[data-n]")
        shown_n = int(row.get_attribute("data-n") or -1)
        assert shown_n == line["n"] == counts[f"n_{line['category']}"]
    assert _number(panel.locator("[data-champ=z]").inner_text()) == pytest.approx(
        api["hot_spot"]["z"], abs=1e-3
    )
    assert panel.locator("[data-champ=gi_label]").inner_text() == api["hot_spot"]["gi_label"]
    assert (
        panel.locator("[data-champ=pattern_label]").inner_text()
        == (api["emerging"]["pattern_label"])
    )
    assert api["forecast"]["rank"] == 1
    assert panel.locator("[data-champ=rank]").inner_text().startswith("1 ")
    bars = panel.locator("svg.graphique rect.barre")
    assert bars.count() == len(api["weekly"])
    assert (
        sum(int(bars.nth(i).get_attribute("data-n") or 0) for i in range(bars.count()))
        == (api["count"])
    )
    assert panel.locator("table.evenements tbody tr").count() == len(api["latest_events"]) > 0
    assert visit.console_errors == []


def test_drawing_a_polygon_shows_the_same_report_as_the_api(
    visit: Visit, http: httpx.Client, api_keys: dict[str, str], artifacts: Path
) -> None:
    visit.open(f"#couche=hotspots&{PERIOD}&zoom=14&centre=5.3795,43.2915", key=api_keys["planner"])
    visit.page.click("#dessiner")
    square = [(5.375, 43.289), (5.384, 43.289), (5.384, 43.294), (5.375, 43.294)]
    for lon, lat in square:
        _click_at(visit, lon, lat)
    with visit.page.expect_request(lambda r: r.url.endswith("/reports")) as sent:
        visit.page.keyboard.press("Enter")
    visit.page.wait_for_selector("#panneau[data-contenu=rapport]")
    visit.page.screenshot(path=str(artifacts / "carte-rapport.png"))
    body: dict[str, Any] = sent.value.post_data_json
    ring = body["geometry"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    for (lon, lat), (x, y) in zip(square, ring[:4], strict=True):
        assert abs(lon - x) < 1e-4 and abs(lat - y) < 1e-4

    planner = headers_for("planner", api_keys)
    api = http.post("/reports", json=body, headers=planner).json()
    panel = visit.page.locator("#panneau")
    assert int(_number(panel.locator("[data-champ=total]").inner_text())) == api["totals"]["n"]
    assert api["totals"]["n"] >= HOT_VOL
    assert (
        int(_number(panel.locator("[data-champ=total_previous]").inner_text()))
        == (api["totals"]["n_previous"])
    )
    assert _number(panel.locator("[data-champ=rate_per_1000]").inner_text()) == pytest.approx(
        api["totals"]["rate_per_1000"], abs=1e-3
    )
    assert int(panel.locator("[data-champ=hot_cells]").inner_text()) == len(
        api["hot_cells"]["features"]
    )
    for line in api["by_category"]:
        cell = panel.locator(f"tr[data-categorie={line['category']}] td[data-n]")
        assert int(cell.get_attribute("data-n") or -1) == line["n"]
    assert panel.locator("svg.graphique rect.barre").count() == len(api["weekly"])

    # exports: the figures as CSV (from the API) and the cells as GeoJSON
    with visit.page.expect_download() as csv_download:
        visit.page.click("#export-csv")
    csv_text = Path(csv_download.value.path()).read_text(encoding="utf-8")
    assert csv_text.splitlines()[-1].startswith(f"total,Total,{api['totals']['n']},")
    with visit.page.expect_download() as geojson_download:
        visit.page.click("#export-geojson")
    assert Path(geojson_download.value.path()).read_text().startswith('{"type":"FeatureCollection"')

    # save the zone: it becomes a saved zone the planner can pick
    visit.page.click("#enregistrer-zone")
    visit.page.fill("#nom-zone", "Rue de Rome (test web)")
    visit.page.press("#nom-zone", "Enter")
    visit.page.wait_for_selector(
        "#zone-enregistree option:has-text('Rue de Rome (test web)')", state="attached"
    )
    zones = http.get("/zones", headers=planner).json()["zones"]
    saved = [z for z in zones if z["name"] == "Rue de Rome (test web)"]
    assert len(saved) == 1
    http.delete(f"/zones/{saved[0]['id']}", headers=planner)
    assert visit.console_errors == []


def _tile_layers(data: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = mapbox_vector_tile.decode(data)
    return decoded


def test_the_public_never_receives_raw_events(visit: Visit, artifacts: Path) -> None:
    visit.open(f"#couche=counts&{ROME}")
    expect(visit.page.locator("#case-evenements")).to_be_hidden()
    expect(visit.page.locator("input[name=couche][value=hotspots]")).to_have_count(0)
    _click_at(visit, *RUE_DE_ROME)
    visit.page.wait_for_selector("#panneau[data-contenu=hexagone]")
    visit.change(lambda: visit.page.fill("#debut", "2025-02-01"))
    visit.page.screenshot(path=str(artifacts / "carte-public-hexagone.png"))
    seen = 0
    for response in visit.responses:
        url = response.url
        assert "/collections/events" not in url and "/tiles/events" not in url
        assert "/cells/" not in url
        if response.status != 200:
            continue
        body = response.body()
        kind = response.headers.get("content-type", "")
        if "vnd.mapbox-vector-tile" in kind:
            for name, layer in _tile_layers(body).items():
                assert name != "events"
                for feature in layer["features"]:
                    assert not {"occurred_at", "address", "id"} & set(feature["properties"])
            seen += 1
        elif "json" in kind:
            assert b"occurred_at" not in body and b"latest_events" not in body
            assert b"address" not in body
    assert seen > 5
    assert visit.console_errors == []


def test_the_analyst_sees_events_as_points_and_groups(
    visit: Visit, api_keys: dict[str, str], artifacts: Path
) -> None:
    visit.open(f"#couche=counts&evenements=1&{PERIOD}&{ROME}", key=api_keys["analyst"])
    assert visit.page.is_checked("#evenements")
    assert visit.tile_requests("events")
    visit.change(
        lambda: visit.page.evaluate(
            "([x, y]) => window.carte.map.jumpTo({center: [x, y], zoom: 16})", list(RUE_DE_ROME)
        )
    )
    points = visit.page.evaluate(
        "window.carte.map.queryRenderedFeatures({layers: ['evenements-points']}).length"
    )
    assert points > 0
    visit.page.screenshot(path=str(artifacts / "carte-evenements.png"))
    assert visit.console_errors == []
