"""The demonstration without the command line (issue 15 §1): ``run_demo`` on its own database,
with the built-in geography, a small synthetic data set and one grid resolution."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from geotranquil.config import Settings
from geotranquil.db import admin
from geotranquil.db.engine import make_engine
from geotranquil.db.keys import create_key
from geotranquil.jobs import run_worker
from geotranquil.services.demo import DEMO_SOURCES, DemoResult, RecordedProgress, run_demo
from geotranquil.services.demo_partner import prepare_demo_push
from tests.live_server import live_server


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


@pytest.fixture(scope="module")
def demo_run(demo_settings: Settings) -> tuple[RecordedProgress, DemoResult]:
    first = RecordedProgress()
    return first, run_demo(demo_settings, first, months=12, seed=3, scale=0.02)


def test_run_demo_says_each_step_and_loads_every_file(
    demo_settings: Settings, demo_run: tuple[RecordedProgress, DemoResult]
) -> None:
    first, done = demo_run
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


def test_the_partner_push_of_the_demo_shows_on_the_map_after_the_refresh(
    demo_settings: Settings, demo_run: tuple[RecordedProgress, DemoResult]
) -> None:
    """What ``geotranquil demo`` pushes once its server is up: the batch goes through the API
    with the demonstration partner's key, a worker ingests it and refreshes the analyses, and
    the planted cell is a hot spot of the served run (it was not before)."""
    settings = demo_settings.model_copy(update={"refresh_debounce_s": 0})
    engine = make_engine(settings)
    push = prepare_demo_push(engine, settings, seed=3)
    with engine.begin() as conn:
        analyst, _ = create_key(conn=conn, name="demo push test", role="analyst")
    with live_server(settings) as url, httpx.Client(base_url=url, timeout=120) as http:

        def gi_bin() -> int | None:
            item = http.get(
                f"/collections/hotspots/items/{push.cell}", headers={"X-API-Key": analyst}
            )
            return int(item.json()["properties"]["gi_bin"]) if item.status_code == 200 else None

        assert gi_bin() != 3
        answer = http.post(
            f"/sources/{push.source}/batches",
            content=push.body,
            headers={"X-API-Key": push.key, "Content-Type": "application/x-ndjson"},
        )
        assert answer.status_code == 202, answer.text
        run_worker(settings, wait=False)  # the batch, then the refresh it asked for (no debounce)
        batch = http.get(answer.headers["Location"], headers={"X-API-Key": push.key}).json()
        assert (batch["state"], batch["counts"]["inserted"]) == ("done", push.events)
        assert gi_bin() == 3
        layers = http.get("/freshness").json()["layers"]
        assert layers["hotspots"]["run"]["up_to_date"] is True
    engine.dispose()
