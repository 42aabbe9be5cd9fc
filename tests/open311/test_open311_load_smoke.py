"""The Open311 load benchmark runs end to end in its smoke size and ends with its RESULT line.

Speed is judged from the full-size run (``python -m benchmarks.open311_load``), never here:
this proves the benchmark works and that every report it sends is stored exactly once.
"""

from __future__ import annotations

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
    r"sent=(?P<sent>\d+) errors_5xx=(?P<errors>\d+) ratio=[\d.]+ goal=[\d.]+ (PASS|FAIL)$"
)


def test_open311_load_smoke(settings: Settings, tmp_path: Path) -> None:
    url = settings.database_url.rsplit("/", 1)[0] + "/geotranquil_test_bench_open311"
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
    assert (tmp_path / "open311_load.json").is_file()
    admin.drop_database(url)
