"""The demonstration without the command line (issue 15 §1): ``run_demo`` on its own database,
with the built-in geography, a small synthetic data set and one grid resolution."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from geotranquil.config import Settings
from geotranquil.db import admin
from geotranquil.db.engine import make_engine
from geotranquil.services.demo import DEMO_SOURCES, RecordedProgress, run_demo


@pytest.fixture(scope="module")
def demo_settings(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    url = settings.database_url + "_demo"
    admin.drop_database(url)
    yield Settings(
        database_url=url,
        reference_dir=None,
        data_dir=tmp_path_factory.mktemp("demo"),
        analysis_resolutions=(9,),
    )
    admin.drop_database(url)


def test_run_demo_says_each_step_and_loads_every_file(demo_settings: Settings) -> None:
    first = RecordedProgress()
    done = run_demo(demo_settings, first, months=12, seed=3, scale=0.02)
    manifest = json.loads((done.data_dir / "manifest.json").read_text("utf-8"))
    assert [s.source for s in first.summaries] == list(DEMO_SOURCES.values())
    for summary in first.summaries:
        expected = manifest["files"][summary.source]
        assert (summary.rows_read, summary.inserted) == (expected["rows"], expected["valid"])
    assert first.lines[0].startswith("1. Base prête (révision ")
    assert first.lines[1] == (
        "2. Zones chargées (16 arrondissements, 0 quartiers, origine : builtin)."
    )
    assert first.lines[2] == "   2\u202f455 cellules."
    assert first.tasks[:3] == ["3. Grille H3", "Génération", "BAN ← adresses-13-synth.csv"]
    assert set(done.hotspot_runs) == {"gi_star", "local_moran", "emerging"}
    assert set(done.keys) == {"analyst", "planner", "agent", "admin"}
    assert done.reports_filed == 36
    engine = make_engine(demo_settings)
    with engine.connect() as conn:
        events = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
        cells = conn.execute(text("SELECT count(DISTINCT resolution) FROM grid_cells")).scalar_one()
    # every valid row of the four files, and the 36 residents' reports filed through Open311
    assert events == sum(int(f["valid"]) for f in manifest["files"].values()) + 36
    assert cells == 1

    engine.dispose()
