"""From PostGIS to a stored run, on the cluster and in one process: the same rows.

The synthetic Marseille data (six months, a tenth of the events) spread over many resolution-6
parents; each statistic is stored twice, once computed by ``compute_run`` alone and once with
``--cluster``'s options, and the two runs' rows are equal except their ids and timings. The
backtest scores are equal except the measured seconds. The command line's ``--cluster`` is
tried end to end, and an address where nothing answers gives a French error.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from geotranquil.cli.main import app
from geotranquil.config import Settings
from geotranquil.db.engine import psycopg_dsn
from geotranquil.db.runs import get_run, run_cells
from geotranquil.distributed.cluster import ClusterOptions
from geotranquil.distributed.partition import parent_cells
from geotranquil.geography.reference import load_geography
from geotranquil.ingest.mapping import packaged_mappings
from geotranquil.ingest.pipeline import ingest_file
from geotranquil.services.demo import DEMO_SOURCES
from geotranquil.services.forecasting import run_backtest
from geotranquil.services.hotspots import HotspotParams, compute_run
from geotranquil.synth import generate
from geotranquil.taxonomy import load_taxonomy
from tests.conftest import OFFICIAL_DIR
from tests.distributed.conftest import DaskCluster

START, END = date(2025, 1, 6), date(2025, 6, 30)  # 25 whole weeks


@pytest.fixture(scope="module")
def planted(
    tmp_path_factory: pytest.TempPathFactory, loaded_engine: Engine, settings: Settings
) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("synth-dask")
    geography = load_geography(OFFICIAL_DIR if OFFICIAL_DIR.is_dir() else None)
    generate(geography, out, months=6, seed=7, scale=0.1, start=date(2025, 1, 1))
    with loaded_engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE events, ingest_rejections, ingest_batches, sources, hotspot_runs "
                "RESTART IDENTITY CASCADE"
            )
        )
    mappings = packaged_mappings({c.code for c in load_taxonomy()})
    for file_name, slug in DEMO_SOURCES.items():
        if slug != "police_municipale":  # addresses only: placed by the geocoder, later
            ingest_file(psycopg_dsn(settings.database_url), out / file_name, mappings[slug])
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    return {item["name"]: item for item in manifest["planted"]}


def _stored(engine: Engine, run_id: int) -> tuple[dict[str, Any], pd.DataFrame]:
    with engine.connect() as conn:
        record = get_run(conn=conn, run_id=run_id)
        cells = run_cells(conn=conn, run_id=run_id)
    for key in ("id", "timings", "created_at"):
        record.pop(key)
    return record, cells.drop(columns=["run_id"], errors="ignore")


@pytest.mark.parametrize(
    ("statistic", "extra"),
    [
        ("gi_star", {"permutations": 99}),
        ("local_moran", {"permutations": 99}),
        ("emerging", {}),
    ],
)
def test_a_run_on_the_cluster_stores_the_same_rows(
    loaded_engine: Engine,
    planted: dict[str, Any],
    dask_cluster: DaskCluster,
    statistic: str,
    extra: dict[str, Any],
) -> None:
    persistent = [i for i in planted.values() if i["kind"] == "persistent"]
    cats = tuple(persistent[0]["categories"]) if statistic == "gi_star" else None
    params = HotspotParams(
        statistic=statistic, resolution=9, start=START, end=END, categories=cats, **extra
    )
    alone = compute_run(loaded_engine, params)
    seen: list[tuple[int, int]] = []
    on_cluster = compute_run(
        loaded_engine,
        params,
        cluster=ClusterOptions(dask_cluster.address, parent_resolution=6),
        task_progress=lambda done, total: seen.append((done, total)),
    )
    assert on_cluster.run_id != alone.run_id
    assert on_cluster.classes == alone.classes
    record_a, cells_a = _stored(loaded_engine, alone.run_id)
    record_c, cells_c = _stored(loaded_engine, on_cluster.run_id)
    assert record_c == record_a
    pd.testing.assert_frame_equal(cells_c, cells_a, check_exact=False, rtol=0, atol=1e-12)
    parents = set(parent_cells(cells_a["h3"].to_numpy(), 6).tolist())
    assert len(parents) >= 5
    assert seen[-1] == (len(parents), len(parents)) and len(seen) == len(parents)
    if statistic == "gi_star":  # the planted persistent hot spot is found both ways
        hot = cells_c[cells_c["gi_bin"] > 0]["h3"]
        assert hot.isin(persistent[0]["h3_res9"]).any(), persistent[0]["name"]


def test_the_backtest_on_the_cluster_scores_the_same(
    loaded_engine: Engine, settings: Settings, planted: dict[str, Any], dask_cluster: DaskCluster
) -> None:
    methods = ("naive", "kde", "gbm")
    alone, _ = run_backtest(loaded_engine, settings, methods=methods, n_origins=3)
    ticks: list[tuple[str, int, int]] = []
    dist, _ = run_backtest(
        loaded_engine,
        settings,
        methods=methods,
        n_origins=3,
        cluster=ClusterOptions(dask_cluster.address),
        progress=lambda name, done, total: ticks.append((name, done, total)),
    )
    assert ticks[-1][1:] == (9, 9) and len(ticks) == 9
    timed = ("fit_s", "predict_s")
    a = alone.scores[~alone.scores["metric"].isin(timed)].reset_index(drop=True)
    d = dist.scores[~dist.scores["metric"].isin(timed)].reset_index(drop=True)
    assert len(a) == 3 * 3 * (len(a) // 9) and len(a) > 0
    pd.testing.assert_frame_equal(d, a, check_exact=True)
    assert dist.methods == alone.methods == list(methods)
    for name in methods:
        for (sa, ha), (sd, hd) in zip(alone.curves[name], dist.curves[name], strict=True):
            assert (sa == sd).all() and ((ha == hd) | (ha != ha)).all()


def _cli_env(settings: Settings) -> dict[str, str]:
    return {
        "GEOTRANQUIL_DATABASE_URL": settings.database_url,
        "GEOTRANQUIL_DATA_DIR": str(settings.data_dir),
        "GEOTRANQUIL_DASK_PARENT_RESOLUTION": "6",
        "GEOTRANQUIL_DASK_TIMEOUT_S": "3",
        "COLUMNS": "200",
    }


def test_the_command_line_option(
    loaded_engine: Engine, settings: Settings, planted: dict[str, Any], dask_cluster: DaskCluster
) -> None:
    args = ["hotspots", "-s", "gi_star", "--start", str(START), "--end", str(END)]
    result = CliRunner().invoke(
        app, [*args, "--cluster", dask_cluster.address], env=_cli_env(settings)
    )
    assert result.exit_code == 0, result.output
    counts = re.findall(r"partitions (\d+)/(\d+)", result.output)
    assert counts and counts[-1][0] == counts[-1][1]
    run_id = int(re.search(r"Calcul (\d+)", result.output).group(1))  # type: ignore[union-attr]
    local = compute_run(loaded_engine, HotspotParams(resolution=9, start=START, end=END))
    assert _stored(loaded_engine, run_id)[0] == _stored(loaded_engine, local.run_id)[0]
    pd.testing.assert_frame_equal(
        _stored(loaded_engine, run_id)[1], _stored(loaded_engine, local.run_id)[1]
    )


def test_a_cluster_that_does_not_answer_is_a_french_error(
    settings: Settings, tmp_path: Path
) -> None:
    args = ["hotspots", "--start", str(START), "--end", str(END), "--cluster", "tcp://127.0.0.1:9"]
    result = CliRunner().invoke(app, args, env=_cli_env(settings))
    assert result.exit_code == 2, result.output
    assert "le cluster Dask tcp://127.0.0.1:9 ne répond pas" in result.output
    assert "Traceback" not in result.output
    back = CliRunner().invoke(
        app, ["forecast", "backtest", "--cluster", "tcp://127.0.0.1:9"], env=_cli_env(settings)
    )
    assert back.exit_code == 2 and "ne répond pas" in back.output, back.output
