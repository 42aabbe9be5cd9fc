"""Accessibility of the map, checked for real: axe-core in the page, and the keyboard alone.

axe-core is the npm package installed in ``web/`` by the setup's ``npm ci`` (it is served
nowhere: the test reads it from ``web/node_modules`` and injects it into the page).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h3
import httpx
import pytest
from playwright.sync_api import Page

from tests.api.conftest import headers_for
from tests.integration.ingest_helpers import RUE_DE_ROME
from tests.web.conftest import Visit
from tests.web.test_carte import PERIOD, ROME, _click_at

AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}


def _axe(page: Page) -> list[dict[str, Any]]:
    """The serious and critical violations axe-core finds in the page as it is now."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} missing: run scripts/setup.sh (npm ci in web/)")
    # evaluated through the DevTools protocol: the pages' CSP forbids inline scripts
    page.evaluate(AXE.read_text(encoding="utf-8"))
    results: dict[str, Any] = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v["impact"] in BLOCKING]


def _describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(n["target"][0] if n["target"] else "?" for n in v["nodes"][:5])
        for v in violations
    )


def test_the_public_view_has_no_serious_violation(visit: Visit) -> None:
    visit.open(f"#couche=counts&{PERIOD}&{ROME}")
    _click_at(visit, *RUE_DE_ROME)
    visit.page.wait_for_selector("#panneau[data-contenu=hexagone]")
    found = _axe(visit.page)
    assert found == [], _describe(found)


def test_the_analyst_view_has_no_serious_violation(visit: Visit, api_keys: dict[str, str]) -> None:
    visit.open(f"#couche=emerging&evenements=1&{PERIOD}&{ROME}", key=api_keys["analyst"])
    _click_at(visit, *RUE_DE_ROME)
    visit.page.wait_for_selector("#panneau[data-contenu=hexagone]")
    found = _axe(visit.page)
    assert found == [], _describe(found)


def test_the_planner_view_has_no_serious_violation(visit: Visit, api_keys: dict[str, str]) -> None:
    visit.open(f"#couche=hotspots&{PERIOD}&{ROME}", key=api_keys["planner"])
    visit.page.check("#mode-urbaniste")
    _click_at(visit, *RUE_DE_ROME)
    visit.page.wait_for_selector("#panneau[data-contenu=rapport]")
    visit.page.click("#enregistrer-zone")
    found = _axe(visit.page)
    assert found == [], _describe(found)


def _focused(page: Page, selector: str) -> bool:
    return bool(page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector))


def _tab_to(page: Page, selector: str, *, back: bool = False, limit: int = 150) -> int:
    """Press Tab (Shift+Tab with ``back``) until ``selector`` has the focus; the presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        if _focused(page, selector):
            return presses
    pytest.fail(f"« {selector} » jamais atteint avec {'Maj+' if back else ''}Tab")


def test_the_controls_and_the_panel_work_with_the_keyboard_alone(
    visit: Visit, http: httpx.Client, api_keys: dict[str, str]
) -> None:
    """Tab moves, Enter and Space act; arrows only where the browser's own controls want
    them (a radio group, a drop-down list) and to move the map."""
    page = visit.page
    visit.open(f"#couche=counts&resolution=9&{PERIOD}&{ROME}", key=api_keys["planner"])
    page.evaluate("document.activeElement?.blur()")
    page.keyboard.press("Tab")
    assert _focused(page, "a.skip")  # the first stop: straight to the panel

    _tab_to(page, "#aucune")
    visit.change(lambda: page.keyboard.press("Enter"))
    assert page.evaluate("window.carte.state.cats") == []
    _tab_to(page, "input[name=categorie][value=vol]")
    visit.change(lambda: page.keyboard.press("Space"))
    assert page.evaluate("window.carte.state.cats") == ["vol"]

    _tab_to(page, "#pas", back=True)
    visit.change(lambda: page.keyboard.press("ArrowDown"))
    assert page.evaluate("window.carte.state.bin") == "month" and "pas=mois" in page.url
    _tab_to(page, "input[name=couche]:checked", back=True)
    visit.change(lambda: page.keyboard.press("ArrowDown"))
    assert page.evaluate("window.carte.state.layer") == "rates"

    # Enter on the map: the hexagon at its centre, in the panel, by month
    _tab_to(page, "canvas.maplibregl-canvas")
    page.keyboard.press("Enter")
    page.wait_for_selector("#panneau[data-contenu=hexagone]")
    centre = page.evaluate("window.carte.map.getCenter()")
    assert page.inner_text("#panneau [data-hex]") == h3.latlng_to_cell(
        centre["lat"], centre["lng"], 9
    )
    assert page.get_attribute("#panneau svg.graphique", "data-pas") == "mois"
    _tab_to(page, "#panneau")

    # planner mode, by keyboard: the report of the quartier at the centre, saved as a zone
    _tab_to(page, "#mode-urbaniste", back=True)
    page.keyboard.press("Space")
    assert page.is_checked("#mode-urbaniste")
    _tab_to(page, "canvas.maplibregl-canvas")
    page.keyboard.press("Enter")
    page.wait_for_selector("#panneau[data-contenu=rapport]")
    _tab_to(page, "#enregistrer-zone")
    page.keyboard.press("Enter")
    assert _focused(page, "#nom-zone")
    page.keyboard.press("Control+A")
    page.keyboard.type("Quartier au clavier (test web)")
    page.keyboard.press("Enter")
    page.wait_for_selector(
        "#zone-enregistree option:has-text('Quartier au clavier (test web)')", state="attached"
    )
    planner = headers_for("planner", api_keys)
    saved = [
        z
        for z in http.get("/zones", headers=planner).json()["zones"]
        if z["name"] == "Quartier au clavier (test web)"
    ]
    assert len(saved) == 1
    http.delete(f"/zones/{saved[0]['id']}", headers=planner)
    assert visit.console_errors == []
