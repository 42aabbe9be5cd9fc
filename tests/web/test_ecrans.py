"""The map on a laptop (1366 × 768) and on a control-room screen (2560 × 1440).

Screenshots are written to ``var/test-artifacts/web/``; the map, the controls, the legend and
the panel must all be on screen, side by side, the legend over the map without covering the
map's own buttons, the description line or most of the map, and its classes all readable
without scrolling.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.integration.ingest_helpers import RUE_DE_ROME
from tests.web.conftest import Visit
from tests.web.test_carte import PERIOD, ROME, _click_at

SCREENS = {"portable": (1366, 768), "salle-de-crise": (2560, 1440)}
Box = dict[str, float]


def _overlap(a: Box, b: Box) -> bool:
    return (
        a["x"] < b["x"] + b["width"] - 0.5
        and b["x"] < a["x"] + a["width"] - 0.5
        and a["y"] < b["y"] + b["height"] - 0.5
        and b["y"] < a["y"] + a["height"] - 0.5
    )


def _inside(inner: Box, outer: Box) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


@pytest.mark.parametrize("layer", ["emerging", "counts"])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_everything_is_on_screen_without_overlap(
    screen: str,
    layer: str,
    visit: Visit,
    browser: Browser,
    api_keys: dict[str, str],
    artifacts: Path,
) -> None:
    width, height = SCREENS[screen]
    visit.page.set_viewport_size({"width": width, "height": height})
    visit.open(f"#couche={layer}&{PERIOD}&{ROME}", key=api_keys["analyst"])
    _click_at(visit, *RUE_DE_ROME)
    visit.page.wait_for_selector("#panneau[data-contenu=hexagone]")
    visit.page.screenshot(path=str(artifacts / f"ecran-{screen}-{layer}.png"))

    def box(selector: str) -> Box:
        found = visit.page.locator(selector).first.bounding_box()
        assert found is not None, f"{selector} n'est pas affiché"
        return found

    viewport = {"x": 0.0, "y": 0.0, "width": float(width), "height": float(height)}
    parts = {
        name: box(selector)
        for name, selector in {
            "bandeau": "header.bandeau",
            "commandes": "aside.commandes",
            "description": "#description",
            "carte": "#carte",
            "panneau": "#panneau",
            "légende": "#legende",
        }.items()
    }
    for name, found in parts.items():
        assert _inside(found, viewport), f"{name} sort de l'écran : {found}"
        assert found["width"] > 100 and found["height"] > 20, f"{name} trop petit : {found}"
    side_by_side = ["bandeau", "commandes", "carte", "panneau", "description"]
    for i, a in enumerate(side_by_side):
        for b in side_by_side[i + 1 :]:
            assert not _overlap(parts[a], parts[b]), f"{a} et {b} se chevauchent"
    # the map takes most of the width; the legend is over it, off its buttons and the text
    assert parts["carte"]["width"] >= 0.45 * width and parts["carte"]["height"] >= 0.6 * height
    legend = parts["légende"]
    assert _inside(legend, parts["carte"])
    assert (
        legend["width"] * legend["height"]
        <= 0.35 * parts["carte"]["width"] * parts["carte"]["height"]
    )
    controls = visit.page.locator(".maplibregl-ctrl")
    for i in range(controls.count()):
        found = controls.nth(i).bounding_box()
        assert found is not None and not _overlap(legend, found), "la légende couvre un bouton"
    assert not _overlap(legend, parts["description"])
    # every class of the legend readable without scrolling
    scroll = visit.page.evaluate(
        "(() => { const l = document.getElementById('legende'); "
        "return [l.scrollHeight, l.clientHeight]; })()"
    )
    assert scroll[0] <= scroll[1] + 1, f"la légende défile : {scroll}"
    assert visit.console_errors == []
