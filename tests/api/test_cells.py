"""What the web map needs besides layers: categories, runs, one cell in detail, the page."""

from __future__ import annotations

from pathlib import Path

import h3
import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from geotranquil.api.app import create_app
from geotranquil.config import Settings
from tests.api.conftest import headers_for
from tests.api.served import HOT_DUMPING, HOT_VOL, START, WEEKS, Served
from tests.integration.ingest_helpers import RUE_DE_ROME

ROME_R9 = h3.latlng_to_cell(RUE_DE_ROME[1], RUE_DE_ROME[0], 9)


def test_categories_follow_the_role(http: httpx.Client, api_keys: dict[str, str]) -> None:
    public = http.get("/categories").json()["categories"]
    staff = http.get("/categories", headers=headers_for("planner", api_keys)).json()["categories"]
    assert len(staff) == 12 and {"code", "label", "family", "family_label"} <= set(staff[0])
    assert public == [c for c in staff if c["public"]] and 0 < len(public) < 12


def test_runs_list_the_served_runs(
    http: httpx.Client, served: Served, api_keys: dict[str, str]
) -> None:
    assert http.get("/runs").status_code == 401
    doc = http.get("/runs", headers=headers_for("planner", api_keys)).json()
    ids = {r["id"]: r["kind"] for r in doc["hotspot_runs"]}
    assert ids[served.gi_run] == "gi_star" and ids[served.emerging_run] == "emerging"
    assert "forecast_runs" in doc


def test_a_cell_in_detail_matches_the_database(
    http: httpx.Client, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    h = h3.str_to_int(ROME_R9)
    with loaded_engine.connect() as conn:
        expected = dict(
            conn.execute(
                text("SELECT category, count(*) FROM events WHERE h3_r9 = :h GROUP BY 1"),
                {"h": h},
            ).all()
        )
        z = conn.execute(
            text("SELECT z FROM hotspot_cells WHERE run_id = :r AND h3 = :h"),
            {"r": served.gi_run, "h": h},
        ).scalar_one()
    planner = http.get(f"/cells/{ROME_R9}", headers=headers_for("planner", api_keys))
    assert planner.status_code == 200, planner.text
    doc = planner.json()
    assert doc["hex_id"] == ROME_R9 and doc["resolution"] == 9
    assert {c["category"]: c["n"] for c in doc["by_category"] if c["n"]} == expected
    assert doc["count"] == sum(expected.values()) >= HOT_VOL + HOT_DUMPING
    assert sum(w["n"] for w in doc["weekly"]) == doc["count"]
    assert len(doc["weekly"]) >= WEEKS and doc["weekly"][0]["week"] == START.isoformat()
    assert doc["hot_spot"]["run_id"] == served.gi_run and abs(doc["hot_spot"]["z"] - z) < 1e-9
    assert doc["hot_spot"]["gi_bin"] == 3 and doc["hot_spot"]["gi_label"] == "Point chaud — 99 %"
    assert doc["emerging"]["run_id"] == served.emerging_run
    assert "latest_events" not in doc  # a planner never gets raw events
    analyst = http.get(
        f"/cells/{ROME_R9}",
        params={"categories": "vol", "datetime": "2025-06-01/2025-07-06", "events_limit": 5},
        headers=headers_for("analyst", api_keys),
    ).json()
    assert [c["category"] for c in analyst["by_category"]] == ["vol"]
    assert len(analyst["latest_events"]) == 5
    assert all(e["category"] == "vol" for e in analyst["latest_events"])
    times = [e["occurred_at"] for e in analyst["latest_events"]]
    assert times == sorted(times, reverse=True)


def test_cell_errors(http: httpx.Client, served: Served, api_keys: dict[str, str]) -> None:
    planner = headers_for("planner", api_keys)
    assert http.get(f"/cells/{ROME_R9}").status_code == 401
    assert http.get(f"/cells/{ROME_R9}", headers=headers_for("partner", api_keys)).status_code == (
        403
    )
    assert http.get("/cells/not-a-cell", headers=planner).status_code == 400
    assert http.get("/cells/8f3f00000000000", headers=planner).status_code == 404
    assert http.get(f"/cells/{ROME_R9}?bogus=1", headers=planner).status_code == 400
    wrong_kind = http.get(
        f"/cells/{ROME_R9}", params={"hotspot_run": served.emerging_run}, headers=planner
    )
    assert wrong_kind.status_code == 400 and "emerging" in wrong_kind.json()["description"]


def test_the_map_page_and_its_files(http: httpx.Client) -> None:
    page = http.get("/carte")
    assert page.status_code == 200 and '<html lang="fr">' in page.text
    assert "/carte/vendor/maplibre-gl.js" in page.text
    assert (
        http.get("/carte/vendor/maplibre-gl.js")
        .headers["content-type"]
        .startswith("text/javascript")
    )
    assert http.get("/carte/static/carte.js").status_code == 200
    palettes = http.get("/carte/static/palettes.json")  # a JSON module: its type matters
    assert palettes.headers["content-type"].startswith("application/json")
    assert len(palettes.json()["patterns"]) == 17
    assert http.get("/carte/static/..%2Fapi%2Fweb.py").status_code == 404
    assert http.get("/carte/vendor/package.json").status_code == 404
    config = http.get("/carte/config.json").json()
    assert config["basemap_url"] is None and config["resolutions"] == [7, 8, 9, 10]


def test_the_page_says_when_maplibre_is_not_installed(settings: Settings, tmp_path: Path) -> None:
    missing = settings.model_copy(update={"web_vendor_dir": tmp_path / "absent"})
    with TestClient(create_app(missing)) as client:
        page = client.get("/carte")
    assert page.status_code == 503
    assert "MapLibre GL JS n'est pas installée" in page.text and "scripts/setup.sh" in page.text


def _sql_series(engine: Engine, h: int, bin: str, t0: str, t1: str) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT date_trunc(:bin, occurred_at AT TIME ZONE 'Europe/Paris')::date, count(*) "
                "FROM events WHERE h3_r9 = :h AND occurred_at >= CAST(:t0 AS date) "
                "AT TIME ZONE 'Europe/Paris' AND occurred_at < CAST(:t1 AS date) "
                "AT TIME ZONE 'Europe/Paris' GROUP BY 1"
            ),
            {"bin": bin, "h": h, "t0": t0, "t1": t1},
        ).all()
    return {r[0].isoformat(): int(r[1]) for r in rows}


def test_a_cell_series_by_day_week_or_month(
    http: httpx.Client, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    planner = headers_for("planner", api_keys)
    h = h3.str_to_int(ROME_R9)
    period = "2025-05-15/2025-07-14"  # both ends included: 61 days over three months
    docs = {
        b: http.get(
            f"/cells/{ROME_R9}", params={"datetime": period, "bin": b}, headers=planner
        ).json()
        for b in ("day", "week", "month")
    }
    default = http.get(f"/cells/{ROME_R9}", params={"datetime": period}, headers=planner).json()
    assert default["bin"] == "week" and default["series"] == docs["week"]["series"]
    count = docs["day"]["count"]
    assert count > 0
    for b, doc in docs.items():
        assert doc["bin"] == b
        assert sum(x["n"] for x in doc["series"]) == count, b
        expected = _sql_series(loaded_engine, h, b, "2025-05-15", "2025-07-15")
        assert {x["start"]: x["n"] for x in doc["series"] if x["n"]} == expected, b
        assert doc["weekly"] == docs["week"]["weekly"]  # the weekly series stays weekly
    assert len(docs["day"]["series"]) == 61 and docs["day"]["series"][0]["start"] == "2025-05-15"
    assert [x["start"] for x in docs["month"]["series"]] == [
        "2025-05-01",
        "2025-06-01",
        "2025-07-01",
    ]
    weeks = [x["start"] for x in docs["week"]["series"]]
    assert weeks[0] == "2025-05-12" and weeks[-1] == "2025-07-14" and len(weeks) == 10
    assert [{"week": x["start"], "n": x["n"]} for x in docs["week"]["series"]] == (
        docs["week"]["weekly"]
    )

    bad = http.get(f"/cells/{ROME_R9}", params={"bin": "year"}, headers=planner)
    assert bad.status_code == 400
    assert "pas de temps « year » inconnu" in bad.json()["description"]
