"""``benchmarks/replica_reads.py --small`` runs end to end against the real replica and ends
with a well-formed RESULT line (speed is judged on the full run, never here)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg

from geotranquil.db import admin
from geotranquil.db.engine import psycopg_dsn
from tests.conftest import TEST_DATABASE_URL, sibling_database_url

from .conftest import REPLICA_PORT, on_port

REPO = Path(__file__).resolve().parents[2]
RESULT = re.compile(
    r"^RESULT replica_reads replica_pages_per_s=(?P<replica>[\d.]+) "
    r"primary_pages_per_s=(?P<primary>[\d.]+) ratio=(?P<ratio>[\d.]+) "
    r"lag_max_s=(?P<lag>[\d.]+) goal=1\.0 (PASS|FAIL)$"
)


def test_replica_reads_small(topology: None, tmp_path: Path) -> None:
    url = sibling_database_url(TEST_DATABASE_URL, "bench_replica")
    env = {
        **os.environ,
        "GEOTRANQUIL_BENCH_REPLICA_DATABASE_URL": url,
        "GEOTRANQUIL_BENCH_REPLICA_URL": on_port(url, REPLICA_PORT),
        "GEOTRANQUIL_BENCH_OUT": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.replica_reads", "--small"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    match = RESULT.match(last)
    assert match, last
    assert float(match["replica"]) > 0 and float(match["primary"]) > 0
    out = json.loads((tmp_path / "replica_reads.json").read_text())
    # every page answered 200, on both sides; the ingest ran meanwhile
    assert set(out["statuses"]["replica"]) == {"200"} and set(out["statuses"]["primary"]) == {"200"}
    assert out["events"] == 20_000
    with psycopg.connect(psycopg_dsn(url)) as conn:  # the ingest ran on the primary meanwhile
        row = conn.execute("SELECT count(*) FROM ingest_batches").fetchone()
    assert row is not None and row[0] >= 1
    admin.drop_database(url)
