"""On the synthetic Marseille data, the analyses find exactly the planted truth.

Persistent hot spots come out hot (99 or 95 %) and persistent or intensifying; the emerging
one as new, consecutive or intensifying; the fading one as diminishing or historical; and
the control areas planted with no excess stay (almost) never significant after FDR.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine

from geotranquil.db.runs import get_run, run_cells
from geotranquil.geography.reference import load_geography
from geotranquil.ingest.mapping import packaged_mappings
from geotranquil.ingest.pipeline import ingest_file
from geotranquil.services.demo import DEMO_SOURCES
from geotranquil.services.hotspots import HotspotParams, compute_run
from geotranquil.synth import generate
from geotranquil.taxonomy import load_taxonomy
from tests.conftest import OFFICIAL_DIR

START, END = date(2024, 11, 1), date(2026, 11, 1)


@pytest.fixture(scope="module")
def planted(
    tmp_path_factory: pytest.TempPathFactory, loaded_engine: Engine, settings: Any
) -> dict[str, dict[str, Any]]:
    from sqlalchemy import text

    from geotranquil.db.engine import psycopg_dsn

    out = tmp_path_factory.mktemp("synth-planted")
    geography = load_geography(OFFICIAL_DIR if OFFICIAL_DIR.is_dir() else None)
    generate(geography, out, months=24, seed=42, scale=1.0, start=START)
    with loaded_engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE events, event_geocoding, service_requests, "
                "ingest_rejections, ingest_batches, sources, hotspot_runs "
                "RESTART IDENTITY CASCADE"
            )
        )
    mappings = packaged_mappings({c.code for c in load_taxonomy()})
    for file_name, slug in DEMO_SOURCES.items():
        if slug != "police_municipale":  # addresses only: placed by the geocoder, later
            ingest_file(psycopg_dsn(settings.database_url), out / file_name, mappings[slug])
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    return {item["name"]: item for item in manifest["planted"]}


def _result(engine: Engine, item: dict[str, Any], **kw: Any) -> Any:
    cats = tuple(item["categories"]) if item["kind"] != "control" else None
    summary = compute_run(engine, HotspotParams(resolution=9, categories=cats, **kw))
    with engine.connect() as conn:
        cells = run_cells(conn=conn, run_id=summary.run_id)
        record = get_run(conn=conn, run_id=summary.run_id)
    assert record["timings"].keys() >= {"aggregate", "statistic", "store"}
    return cells[cells["h3"].isin(item["h3_res9"])], cells


def test_persistent_hot_spots(loaded_engine: Engine, planted: dict[str, Any]) -> None:
    persistent = [i for i in planted.values() if i["kind"] == "persistent"]
    assert len(persistent) == 3
    for item in persistent:
        gi, _ = _result(loaded_engine, item, statistic="gi_star", start=START, end=END)
        assert len(gi) > 0 and set(gi["gi_bin"]) <= {2, 3}, (item["name"], gi["gi_bin"].tolist())
        ehsa, _ = _result(
            loaded_engine, item, statistic="emerging", start=START, end=END, bin="month"
        )
        assert set(ehsa["pattern"]) <= {"persistent_hot", "intensifying_hot"}, item["name"]


def test_emerging_hot_spot(loaded_engine: Engine, planted: dict[str, Any]) -> None:
    item = next(i for i in planted.values() if i["kind"] == "emerging")
    ehsa, _ = _result(
        loaded_engine,
        item,
        statistic="emerging",
        start=date(2025, 11, 3),
        end=date(2026, 11, 2),
        bin="month",
    )
    assert set(ehsa["pattern"]) <= {"new_hot", "consecutive_hot", "intensifying_hot"}
    assert len(ehsa) > 0


def test_fading_hot_spot(loaded_engine: Engine, planted: dict[str, Any]) -> None:
    item = next(i for i in planted.values() if i["kind"] == "fading")
    # the fading spot is active in the first 12 months: a window that ends two months later
    ehsa, _ = _result(
        loaded_engine,
        item,
        statistic="emerging",
        start=START,
        end=date(2026, 1, 1),
        bin="month",
    )
    assert len(ehsa) > 0
    assert set(ehsa["pattern"]) <= {"diminishing_hot", "historical_hot"}


def test_controls_stay_quiet(loaded_engine: Engine, planted: dict[str, Any]) -> None:
    controls = [i for i in planted.values() if i["kind"] == "control"]
    flagged = total = 0
    for item in controls:
        gi, _ = _result(loaded_engine, item, statistic="gi_star", start=START, end=END)
        flagged += int((gi["gi_bin"] != 0).sum())
        total += len(gi)
    assert total >= 6
    assert flagged <= 0.05 * total
