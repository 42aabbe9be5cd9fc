"""The refresh itself, in this process: nothing to do without change, everything with, forced
when asked; a cluster planted in a cell becomes a hot spot of the run the API serves."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.db.keys import create_key
from geotranquil.services.freshness import freshness
from geotranquil.services.refresh import pending_change, refresh_analyses
from geotranquil.stats.registry import STATISTICS
from tests.live_server import live_server

from .conftest import land_cells, plant_background, plant_cluster, refreshes


def test_no_event_nothing_to_do(empty: Engine, settings: Settings) -> None:
    report = refresh_analyses(empty, settings, trigger="data")
    assert (report.status, report.runs, report.notes) == ("skipped", {}, ["aucun événement"])
    assert not pending_change(empty)  # a skipped refresh covers its version: no request loop


def test_refresh_when_changed_skip_when_not_forced_always(
    empty: Engine, settings: Settings
) -> None:
    plant_background(empty)
    assert pending_change(empty)
    lines: list[str] = []
    first = refresh_analyses(empty, settings, trigger="data", progress=lines.append)
    assert first.status == "succeeded", first
    assert set(first.runs) == {*STATISTICS, "forecast"}
    assert lines[0].startswith(f"Actualisation n° {first.refresh_id}")
    assert not pending_change(empty)
    with empty.connect() as conn:
        kinds = conn.execute(
            text("SELECT kind, id, resolution, period_end - period_start FROM hotspot_runs")
        ).all()
    assert sorted((k, i, r, d) for k, i, r, d in kinds) == sorted(
        (k, first.runs[k], 9, 16 * 7) for k in STATISTICS
    )
    assert (settings.data_dir / "overview" / "prevision.png").is_file()

    again = refresh_analyses(empty, settings, trigger="schedule")
    assert again.status == "skipped" and again.runs == {}
    assert again.notes == [f"données inchangées depuis l'actualisation n° {first.refresh_id}"]

    forced = refresh_analyses(empty, settings, trigger="manual", force=True)
    assert forced.status == "succeeded" and set(forced.runs) == set(first.runs)
    assert refreshes(empty) == [
        (first.refresh_id, "data", "succeeded", False),
        (again.refresh_id, "schedule", "skipped", False),
        (forced.refresh_id, "manual", "succeeded", True),
    ]
    # the served default runs are the newest refresh's, up to date
    fresh = freshness(empty)
    for stat in STATISTICS.values():
        run = fresh["layers"][stat.collection]["run"]
        assert run["id"] == forced.runs[stat.name] and run["up_to_date"] is True
    assert fresh["layers"]["forecast"]["run"]["id"] == forced.runs["forecast"]
    assert fresh["last_refresh"]["id"] == forced.refresh_id


def test_a_planted_cluster_becomes_a_served_hot_spot(empty: Engine, settings: Settings) -> None:
    plant_background(empty)
    before = refresh_analyses(empty, settings, trigger="data")
    target = land_cells(empty)[len(land_cells(empty)) // 2]
    with empty.begin() as conn:
        key, _ = create_key(conn=conn, name="refresh analyst", role="analyst")
    with (
        live_server(settings) as url,
        httpx.Client(base_url=url, timeout=60, headers={"X-API-Key": key}) as http,
    ):

        def gi_bin() -> int:
            item = http.get(f"/collections/hotspots/items/{target[0]:x}")
            assert item.status_code == 200, item.text
            return int(item.json()["properties"]["gi_bin"])

        assert gi_bin() != 3
        plant_cluster(empty, target)
        assert pending_change(empty)
        assert http.get("/freshness").json()["layers"]["hotspots"]["run"]["up_to_date"] is False
        after = refresh_analyses(empty, settings, trigger="data")
        assert after.status == "succeeded" and after.runs["gi_star"] != before.runs["gi_star"]
        assert gi_bin() == 3
        fresh = http.get("/freshness").json()
        assert fresh["layers"]["hotspots"]["run"]["id"] == after.runs["gi_star"]
        assert fresh["layers"]["hotspots"]["run"]["up_to_date"] is True
