"""The refresh tests: a database of their own, planted events, an empty queue, workers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.db.event_keys import add_missing_keys
from geotranquil.db.partitions import ensure_event_partitions
from geotranquil.grid.h3ids import cells_from_points, parent_ids
from tests.conftest import (
    TEST_DATABASE_URL,
    fresh_engine,
    load_reference,
    make_test_settings,
    sibling_database_url,
)
from tests.workers import StartWorker, worker_env, worker_processes

#: the refresh tests plant events and runs: a database of their own
REFRESH_DATABASE_URL = sibling_database_url(TEST_DATABASE_URL, "refresh")
#: the planted data: WEEKS whole weeks ending on this Monday (local midnight, UTC+1)
LAST_MONDAY = datetime(2026, 11, 30, tzinfo=UTC) - timedelta(hours=1)
WEEKS = 16
BACKGROUND = 2000  # events spread over the city and the weeks
CLUSTER = 120  # events planted in one cell during the last weeks


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    base = make_test_settings(REFRESH_DATABASE_URL, tmp_path_factory.mktemp("data-refresh"))
    # analytic p-values: no numba compilation in the worker processes
    return base.model_copy(update={"refresh_permutations": 0, "refresh_weeks": WEEKS})


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    eng = fresh_engine(settings)
    load_reference(eng, settings)
    yield eng
    eng.dispose()


def land_cells(engine: Engine) -> list[tuple[int, float, float]]:
    """Resolution-9 cells wholly on land: (h3, lon, lat of a point inside), by id."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT h3, ST_X(p), ST_Y(p) FROM (SELECT h3, ST_Centroid(geom) p "
                "FROM grid_cells WHERE resolution = 9 AND land_share >= 0.999) c ORDER BY h3"
            )
        ).all()
    return [(int(h), float(x), float(y)) for h, x, y in rows]


def plant(
    engine: Engine, points: list[tuple[float, float]], times: list[datetime], prefix: str
) -> None:
    """Insert located 'vol' events at ``points`` and ``times`` (one statement)."""
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    fine = cells_from_points(lon, lat, 12)
    parents = {r: parent_ids(fine, r) for r in (7, 8, 9, 10)}
    with engine.begin() as conn:
        source = conn.execute(
            text(
                "INSERT INTO sources (slug, name, kind) VALUES ('essai', 'Essai', 'file') "
                "ON CONFLICT (slug) DO UPDATE SET name = excluded.name RETURNING id"
            )
        ).scalar_one()
        start = conn.execute(
            text("SELECT count(*) FROM events WHERE external_id LIKE :p"), {"p": f"{prefix}-%"}
        ).scalar_one()
        if times:
            ensure_event_partitions(conn=conn, first=min(times), last=max(times))
        conn.execute(
            text(
                "INSERT INTO events (source_id, external_id, category, occurred_at, geom, "
                "h3_fine, h3_r7, h3_r8, h3_r9, h3_r10, location_precision, attributes) "
                "SELECT :s, :p || '-' || (:start + n), 'vol', t, "
                "ST_SetSRID(ST_MakePoint(x, y), 4326), f, r7, r8, r9, r10, 'exact', '{}' "
                "FROM unnest(CAST(:t AS timestamptz[]), CAST(:x AS float8[]), "
                "CAST(:y AS float8[]), CAST(:f AS bigint[]), CAST(:r7 AS bigint[]), "
                "CAST(:r8 AS bigint[]), CAST(:r9 AS bigint[]), CAST(:r10 AS bigint[])) "
                "WITH ORDINALITY AS u(t, x, y, f, r7, r8, r9, r10, n)"
            ),
            {
                "s": source,
                "p": prefix,
                "start": start,
                "t": times,
                "x": lon.tolist(),
                "y": lat.tolist(),
                "f": fine.tolist(),
                **{f"r{r}": parents[r].tolist() for r in parents},
            },
        )
        add_missing_keys(conn=conn)


def plant_background(engine: Engine, seed: int = 7) -> None:
    """``BACKGROUND`` events over random land cells and the ``WEEKS`` weeks."""
    rng = np.random.default_rng(seed)
    cells = land_cells(engine)
    picks = rng.integers(0, len(cells), BACKGROUND)
    hours = rng.uniform(0, WEEKS * 7 * 24, BACKGROUND)
    first = LAST_MONDAY - timedelta(weeks=WEEKS)
    plant(
        engine,
        [(cells[i][1], cells[i][2]) for i in picks],
        [first + timedelta(hours=float(h)) for h in hours],
        "fond",
    )


def plant_cluster(engine: Engine, cell: tuple[int, float, float], n: int = CLUSTER) -> None:
    """``n`` events in ``cell`` over the last four weeks."""
    hours = np.linspace(1, 4 * 7 * 24 - 1, n)
    plant(
        engine,
        [(cell[1], cell[2])] * n,
        [LAST_MONDAY - timedelta(hours=float(h)) for h in hours],
        f"amas{cell[0]}",
    )


@pytest.fixture
def empty(engine: Engine) -> Engine:
    """No event, no run, no refresh, no job, no worker left by an earlier test."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE events, event_geocoding, service_requests, "
                "ingest_rejections, ingest_batches, sources, hotspot_runs, "
                "forecast_runs, analysis_refreshes, alert_rules, procrastinate_events, "
                "procrastinate_periodic_defers, procrastinate_jobs, procrastinate_workers "
                "RESTART IDENTITY CASCADE"
            )
        )
    return engine


def refreshes(engine: Engine) -> list[tuple[int, str, str, bool]]:
    """Every refresh recorded: (id, trigger, status, forced), in order."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, trigger, status, forced FROM analysis_refreshes ORDER BY id")
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def refresh_worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a ``geotranquil worker`` on the refresh tests' database."""
    return worker_env(
        settings,
        GEOTRANQUIL_REFRESH_PERMUTATIONS=str(settings.refresh_permutations),
        GEOTRANQUIL_REFRESH_WEEKS=str(settings.refresh_weeks),
        **extra,
    )


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[StartWorker]:
    """Start ``geotranquil worker`` processes; any still running at the end is stopped."""
    with worker_processes(tmp_path) as start:
        yield start
