"""The Open311 load benchmark runs end to end in its smoke size and ends with its RESULT line.

Speed is judged from the full-size run (``python -m benchmarks.open311_load``), never here:
this proves the benchmark works and that every report it sends is stored exactly once.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

from geotranquil.config import Settings
from geotranquil.db import admin

REPO = Path(__file__).resolve().parents[2]
RESULT = re.compile(
    r"^RESULT open311_load p95_ms=(?P<p95>[\d.]+) rate_per_s=[\d.]+ stored_once=(?P<once>\d+) "
    r"sent=(?P<sent>\d+) errors_5xx=(?P<errors>\d+) retries=\d+ "
    r"ratio=[\d.]+ goal=[\d.]+ (PASS|FAIL)$"
)


def test_open311_load_smoke(settings: Settings, tmp_path: Path) -> None:
    url = settings.database_url + "_bench_open311"
    env = {
        **os.environ,
        "GEOTRANQUIL_BENCH_DATABASE_URL": url,
        "GEOTRANQUIL_BENCH_OUT": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.open311_load", "--smoke"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    match = RESULT.match(last)
    assert match, last
    assert int(match["sent"]) == 30
    assert int(match["once"]) == int(match["sent"])  # every report stored exactly once
    assert int(match["errors"]) == 0
    assert float(match["p95"]) > 0
    out = json.loads((tmp_path / "open311_load.json").read_text("utf-8"))
    assert out["stored_once"] == out["sent"] == 30 and out["stored_extra"] == 0
    assert out["exif_free"] is True
    assert out["server_workers"] == 2  # the benchmark's default (see its docstring)
    assert out["server_cpu_s"] > 0  # the workers' CPU, not only uvicorn's supervisor
    assert len(out["p95_ms_by_10s"]) == 1 and all(v > 0 for v in out["p95_ms_by_10s"])
    assert 0 <= out["machine_busy_pct"] <= 100
    assert math.isnan(out["postgres_cpu_s"]) or out["postgres_cpu_s"] >= 0
    admin.drop_database(url)
