"""A statistic registered by the test shows on the map as its own layer, with no change to the
page: its name among the layers, its hexagons painted by z-score, its legend and description.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from geotranquil.services.hotspots import HotspotParams, compute_run
from tests.api.extra_statistic import registered  # noqa: F401  (the fixture)
from tests.api.served import END, START
from tests.web.conftest import Visit
from tests.web.test_carte import GI_COLOURS, ROME, _pixels_like


@pytest.mark.usefixtures("registered")
def test_a_registered_statistic_is_a_layer_of_the_map(
    visit: Visit, loaded_engine: Engine, api_keys: dict[str, str], artifacts: Path
) -> None:
    run = compute_run(
        loaded_engine,
        HotspotParams(statistic="count_z", resolution=9, start=START, end=END, seed=1),
    )
    visit.open(f"#couche=count-z&{ROME}", key=api_keys["planner"])
    visit.page.screenshot(path=str(artifacts / "carte-statistique-ajoutee.png"))
    choice = visit.page.locator("input[name=couche][value=count-z]")
    assert choice.is_checked()
    assert visit.page.locator("label", has=choice).inner_text().strip() == "Score z des nombres"
    assert visit.page.inner_text("#description").startswith(
        f"Score z des nombres, calcul n° {run.run_id} : résolution 9"
    )
    legend = visit.page.inner_text("#legende")
    assert "z ≥ 2,576 (99 %)" in legend and "Non significatif" in legend
    assert visit.tile_requests("count-z")
    png = visit.page.locator("#carte canvas").screenshot()
    # the rue de Rome cell is far above 2.576: drawn in the 99 % red
    assert _pixels_like(png, GI_COLOURS[3]) > 150
    assert visit.console_errors == []
