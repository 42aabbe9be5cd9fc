"""Every load path analyses what it loaded, and a counts tile is planned on real statistics.

Autovacuum may be off on these servers: without ``ANALYZE`` the planner guesses from defaults
(a ``counts-r10`` tile took 110 s before ``ANALYZE grid_cells``, 0.3 s after). Each test here
runs a real load path and reads ``pg_stat_user_tables.analyze_count`` (manual ``ANALYZE`` only,
never autovacuum's), ``pg_class`` and the plan ``EXPLAIN ANALYZE`` gives.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, text

from geotranquil.config import Settings
from geotranquil.features.catalogue import SourceContext, load_catalogue
from geotranquil.ingest.mapping import packaged_mappings
from geotranquil.roles import Role
from geotranquil.services.demo_reports import seed_reports
from geotranquil.services.forecasting import compute_forecast
from geotranquil.services.geocoding import geocode_events
from geotranquil.services.geography import build_cells, load_areas
from geotranquil.services.hotspots import HotspotParams, compute_run
from geotranquil.services.ingestion import ingest
from geotranquil.tiles.mvt import BUFFER, ENVELOPE_4326, EXTENT

from .ingest_helpers import INSIDE, known_categories, write_json, write_police_csv

#: a zoom-14 tile over the Vieux-Port and the centre (z, x, y)
CENTRE_TILE = (14, 8436, 6001)


def _analyses(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            str(r[0]): int(r[1])
            for r in conn.execute(text("SELECT relname, analyze_count FROM pg_stat_user_tables"))
        }


def _wait_analysed(engine: Engine, before: dict[str, int], tables: tuple[str, ...]) -> None:
    """Wait (bounded) until every table of ``tables`` was analysed once more than ``before``."""
    deadline = time.monotonic() + 30
    while True:
        now = _analyses(engine)
        late = [t for t in tables if now.get(t, 0) <= before.get(t, 0)]
        if not late:
            return
        assert time.monotonic() < deadline, f"not analysed after the load: {late}"
        time.sleep(0.1)


def _loaded(engine: Engine, tables: tuple[str, ...], load: Callable[[], Any]) -> Any:
    before = _analyses(engine)
    result = load()
    _wait_analysed(engine, before, tables)
    return result


def _reports_file(path: Path, weeks: int, end: date) -> Path:
    """Residents' reports (JSON, coordinates) at the test points over ``weeks`` weeks, and one
    row without a date (rejected)."""
    natives = ["bruit", "dechets", "tag", "eclairage"]
    rows: list[dict[str, Any]] = []
    for i in range(weeks * 7 * 4):
        day = end - timedelta(days=weeks * 7 - i // 4)
        lon, lat = INSIDE[i % len(INSIDE)]
        rows.append(
            {
                "report_id": f"R{i:05d}",
                "created": f"{day.isoformat()}T1{i % 10}:00:00+01:00",
                "category": natives[i % len(natives)],
                "location": {"lon": lon + 0.0003 * (i % 5), "lat": lat},
                "description": "test",
            }
        )
    rows.append({"report_id": "R-bad", "created": "", "category": "bruit", "location": {}})
    return write_json(path, rows)


def test_every_load_path_analyses_what_it_loaded(
    clean_events: Engine, settings: Settings, ban: pd.DataFrame, tmp_path: Path
) -> None:
    engine = clean_events
    done = _analyses(engine)
    # the session's fixtures ran these load paths: database upgrade, areas, grid, BAN
    for table in ("categories", "areas", "grid_cells", "ban_addresses"):
        assert done.get(table, 0) >= 1, table

    _loaded(engine, ("areas",), lambda: load_areas(engine, settings.reference_dir))
    _loaded(engine, ("grid_cells",), lambda: build_cells(engine, [7]))

    mapping = packaged_mappings(known_categories(engine))["habitants"]
    end = date(2026, 10, 4)
    path = _reports_file(tmp_path / "habitants.json", weeks=10, end=end)
    summary = _loaded(
        engine,
        ("events", "event_keys", "ingest_batches", "ingest_rejections"),
        lambda: ingest(settings, path, mapping),
    )
    assert (summary.inserted, summary.rejected) == (280, 1)

    police = packaged_mappings(known_categories(engine))["police_municipale"]
    logbook = write_police_csv(
        tmp_path / "mc.csv",
        ["MC-1;01/10/2026;10:15;Tags;3;;Rue des Glycines Introuvables;13001;Marseille;Sans suite"],
    )
    ingest(settings, logbook, police)
    located = _loaded(
        engine, ("events", "event_geocoding"), lambda: geocode_events(engine, settings)
    )
    assert (located.considered, located.unplaced) == (1, 1)

    run = _loaded(
        engine,
        ("hotspot_runs", "hotspot_cells"),
        lambda: compute_run(
            engine,
            HotspotParams(
                statistic="gi_star",
                resolution=9,
                start=end - timedelta(weeks=10),
                end=end,
                permutations=0,
            ),
        ),
    )
    assert run.n_cells > 0
    forecast = _loaded(
        engine,
        ("forecast_runs", "forecast_cells"),
        lambda: compute_forecast(engine, settings, method="naive", resolution=9),
    )
    assert forecast.n_cells > 0
    reports = _loaded(
        engine,
        (
            "events",
            "service_requests",
            "service_request_contacts",
            "service_request_media",
            "service_request_history",
        ),
        lambda: seed_reports(engine, settings, seed=3, n=4),
    )
    assert reports.filed == 4


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    out = [plan]
    for child in plan.get("Plans", []):
        out += _nodes(child)
    return out


def _grid_scans(conn: Connection, sql: str, params: dict[str, Any]) -> list[tuple[float, float]]:
    """(estimated, actual) rows of the scans that cut the grid to the tile (run once, not the
    per-row lookups), from ``EXPLAIN ANALYZE``."""
    raw = conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}"), params).scalar_one()
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    return [
        (float(n["Plan Rows"]), float(n["Actual Rows"]))
        for n in _nodes(plan)
        if str(n.get("Relation Name", "")).startswith("grid_cells")
        and n["Actual Loops"] == 1
        and "Index Cond" not in n  # a bitmap heap or sequential scan of the cells
    ]


def test_a_counts_r10_tile_is_planned_on_statistics(loaded_engine: Engine) -> None:
    with loaded_engine.connect() as conn:
        catalogue = load_catalogue(conn=conn)
        per_resolution = dict(
            conn.execute(text("SELECT resolution, count(*) FROM grid_cells GROUP BY 1")).all()
        )
        total = sum(per_resolution.values())
        reltuples = conn.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = 'grid_cells'::regclass")
        ).scalar_one()
        assert abs(reltuples - total) <= 0.01 * total  # analysed: the planner knows the size
        frequencies = conn.execute(
            text(
                "SELECT most_common_vals::text::int[], most_common_freqs FROM pg_stats "
                "WHERE tablename = 'grid_cells' AND attname = 'resolution'"
            )
        ).one()
        share = dict(zip(frequencies[0], frequencies[1], strict=True))
        assert abs(share[10] - per_resolution[10] / total) < 0.02

        # what a counts-r10 tile reads: the collection's source cut to the tile's envelope
        z, x, y = CENTRE_TILE
        source, params = catalogue.collections["counts-r10"].source(
            SourceContext(role=Role.ANALYST, envelope=ENVELOPE_4326, count_only=True)
        )
        params = {**params, "tz": z, "tx": x, "ty": y, "tm": BUFFER / EXTENT}
        sql = f"SELECT * FROM ({source}) AS s"
        scans = _grid_scans(conn, sql, params)
        assert scans, "the tile's cells are read from grid_cells"
        for estimated, actual in scans:
            assert actual >= 100  # the centre tile holds hundreds of r10 hexagons
            assert actual / 2 <= estimated <= actual * 2, scans

        # the control: the same statement on a copy never analysed is planned blind
        conn.execute(
            text(
                "CREATE TEMP TABLE grid_cells_blind AS SELECT * FROM grid_cells; "
                "CREATE INDEX ON grid_cells_blind USING gist (geom); "
                "CREATE INDEX ON grid_cells_blind (resolution); "
                "CREATE UNIQUE INDEX ON grid_cells_blind (h3)"
            )
        )
        blind = _grid_scans(conn, sql.replace("grid_cells", "grid_cells_blind"), params)
        assert blind and all(e * 4 < a for e, a in blind), blind
        conn.rollback()
