"""Each benchmark runs end to end in its smoke size and ends with a well-formed RESULT line.

Speed is judged from the full-size runs (see benchmarks/), never here: this only proves the
benchmark works, so it stays usable.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from geotranquil.config import Settings
from geotranquil.db import admin
from tests.conftest import sibling_database_url

REPO = Path(__file__).resolve().parents[2]
RESULT = re.compile(
    r"^RESULT (?P<name>\w+) (?:\w+=[\d.]+ )+ratio=(?P<ratio>[\d.]+) goal=[\d.]+ .*(PASS|FAIL)$"
)


def _run(module: str, args: list[str], env: dict[str, str], timeout: int = 900) -> str:
    """Run ``python -m benchmarks.<module> <args>`` from the repository; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _result_lines(stdout: str) -> list[str]:
    """The RESULT lines; the output must end with one."""
    lines = stdout.strip().splitlines()
    assert lines[-1].startswith("RESULT "), lines[-1]
    return [line for line in lines if line.startswith("RESULT ")]


def test_ingest_vs_copy_smoke(settings: Settings, tmp_path: Path) -> None:
    url = sibling_database_url(settings.database_url, "bench")
    env = {
        "GEOTRANQUIL_BENCH_DATABASE_URL": url,
        "GEOTRANQUIL_BENCH_OUT": str(tmp_path),
    }
    stdout = _run("ingest_vs_copy", ["--smoke", "--repeat", "1"], env, timeout=600)
    last = stdout.strip().splitlines()[-1]
    match = RESULT.match(last)
    assert match, last
    assert match["name"] == "ingest_vs_copy"
    assert float(match["ratio"]) > 0
    assert "rows in events vs bench_copy: identical" in stdout
    assert (tmp_path / "ingest_vs_copy.json").is_file()
    admin.drop_database(url)


def test_push_vs_cli_smoke(settings: Settings, tmp_path: Path) -> None:
    url = sibling_database_url(settings.database_url, "bench_push")
    env = {"GEOTRANQUIL_BENCH_DATABASE_URL": url, "GEOTRANQUIL_BENCH_OUT": str(tmp_path)}
    stdout = _run("push_vs_cli", ["--smoke"], env, timeout=600)
    last = stdout.strip().splitlines()[-1]
    match = RESULT.match(last)
    assert match, last
    assert match["name"] == "push_vs_cli"
    assert float(match["ratio"]) > 0
    result = json.loads((tmp_path / "push_vs_cli.json").read_text("utf-8"))
    assert (result["cli_stored"], result["push_stored"]) == (20_000, 20_000)
    admin.drop_database(url)


def test_freshness_smoke(settings: Settings, tmp_path: Path) -> None:
    url = sibling_database_url(settings.database_url, "bench_freshness")
    env = {"GEOTRANQUIL_BENCH_FRESHNESS_DATABASE_URL": url, "GEOTRANQUIL_BENCH_OUT": str(tmp_path)}
    stdout = _run("freshness", ["--smoke"], env, timeout=600)
    last = stdout.strip().splitlines()[-1]
    match = RESULT.match(last)
    assert match, last
    assert match["name"] == "freshness"
    assert "debounce_s=3 " in last and "pushed=2000 " in last
    admin.drop_database(url)


@pytest.mark.parametrize(
    ("module", "names", "extra"),
    [
        ("gistar_vs_esda", ["gistar_warm", "gistar_cold"], ["--repeat", "1"]),
        ("emerging_vs_peers", ["emerging_vs_peers"], []),
        ("emerging_dask", ["emerging_dask"], []),  # starts its own scheduler and workers
    ],
)
def test_statistics_benchmarks_smoke(
    module: str, names: list[str], extra: list[str], tmp_path: Path
) -> None:
    env = {"GEOTRANQUIL_BENCH_OUT": str(tmp_path)}
    stdout = _run(module, ["--smoke", *extra], env)
    results = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    assert [RESULT.match(line)["name"] for line in results if RESULT.match(line)] == names
    assert len(results) == len(names)
    assert (tmp_path / f"{module}.json").is_file()


def test_serving_vs_tipg_smoke(settings: Settings, tmp_path: Path) -> None:
    """Ours and tipg (its own ``.venv-tipg``, created if missing) on 20,000 events, one round."""
    url = sibling_database_url(settings.database_url, "bench_serving")
    env = {
        "GEOTRANQUIL_BENCH_SERVING_DATABASE_URL": url,
        "GEOTRANQUIL_BENCH_OUT": str(tmp_path),
    }
    stdout = _run("serving_vs_tipg", ["--smoke"], env)
    results = _result_lines(stdout)
    assert all(RESULT.match(line) for line in results), results
    names = [m["name"] for m in (RESULT.match(line) for line in results) if m]
    assert sorted(names) == sorted(
        [
            "tiles_hotspots_vs_tipg",
            "tiles_events_vs_tipg",
            "tiles_hotspots_vs_tipg_nocache",
            "tiles_events_vs_tipg_nocache",
            "tiles_vs_tipg_nocache",
            "items_vs_tipg",
            "report_vs_sql",
            "tiles_vs_tipg",
        ]
    )
    assert all(float(m["ratio"]) > 0 for m in (RESULT.match(line) for line in results) if m)
    assert "same counts: True" in stdout
    assert (tmp_path / "serving_vs_tipg.json").is_file()
    admin.drop_database(url)


def test_serving_workers_smoke(settings: Settings, tmp_path: Path) -> None:
    """1, 2 and 4 workers behind nginx on 20,000 events, one round (speed not judged here)."""
    url = settings.database_url + "_bench_workers"
    env = {
        "GEOTRANQUIL_BENCH_SERVING_DATABASE_URL": url,
        "GEOTRANQUIL_BENCH_OUT": str(tmp_path),
    }
    stdout = _run("serving_workers", ["--smoke"], env)
    results = _result_lines(stdout)
    matches = [RESULT.match(line) for line in results]
    assert all(matches), results
    assert [m["name"] for m in matches if m] == [
        "serving_workers_cached_tiles",
        "serving_workers_uncached_tiles",
        "serving_workers_items",
        "serving_workers",
    ]
    assert all(float(m["ratio"]) > 0 for m in matches if m)
    assert re.search(r"^cores: \d+ on the machine", stdout, re.MULTILINE)
    # every request answered 200 (or 204, an empty tile: any other status stops the run)
    measures = ("cached_tiles", "uncached_tiles", "items")
    lines = stdout.splitlines()
    table = [line for line in lines if line.startswith(measures) and ": at most" not in line]
    assert len(table) == 9 and all("{200: " in line for line in table), table
    # and the ceiling these cores allow, for each measure
    ceilings = [line for line in lines if re.match(r"^\w+: at most [\d.]+x one worker", line)]
    assert [c.split(":")[0] for c in ceilings] == list(measures), ceilings
    assert all(line.split()[7] == "0" for line in table), table  # no error under wrk's load
    assert "load: wrk, 16 keep-alive connections" in stdout
    assert (tmp_path / "serving_workers.json").is_file()
    admin.drop_database(url)


def test_geocode_vs_addok_smoke(settings: Settings, tmp_path: Path) -> None:
    """Ours and addok (its own ``.venv-addok``, created if missing; Redis on 127.0.0.1:6379,
    databases 9 and 10 for this test) on the synthetic BAN with its traps, 20 queries per kind
    of the set written apart from the parser."""
    from geotranquil.geocode.query_kinds import PHRASING_KINDS as KINDS

    url = sibling_database_url(settings.database_url, "bench_geocode")
    env = {
        "GEOTRANQUIL_BENCH_GEOCODE_DATABASE_URL": url,
        "GEOTRANQUIL_BENCH_ADDOK_REDIS_DB": "9",
        "GEOTRANQUIL_BENCH_OUT": str(tmp_path),
    }
    stdout = _run("geocode_vs_addok", ["--smoke"], env)
    results = _result_lines(stdout)
    share = r"(?:0|1)\.\d{4}"
    accuracy = re.compile(
        rf"^RESULT geocode_accuracy_(?P<kind>\w+) ours_within={share} addok_within={share} "
        rf"ours_wrong_high={share} addok_wrong_high={share} (?:PASS|FAIL)$"
    )
    kinds = [m["kind"] for m in (accuracy.match(line) for line in results) if m]
    assert kinds == list(KINDS), results
    throughput = re.compile(
        r"^RESULT geocode_throughput ours_per_s=[\d.]+ addok_per_s=[\d.]+ ratio=(?P<ratio>[\d.]+) "
        r"goal=2 (?:PASS|FAIL)$"
    )
    matches = [m for m in (throughput.match(line) for line in results) if m]
    assert len(matches) == 1 and float(matches[0]["ratio"]) > 0, results
    goals = re.compile(
        rf"^RESULT geocode_goals clean_within={share} degraded_within={share} "
        rf"wrong_high_max_kind={share} (?:PASS|FAIL)$"
    )
    assert goals.match(results[-1]), results[-1]
    curve = [line for line in results if line.startswith("RESULT geocode_reliability_")]
    assert [line.split()[1] for line in curve] == [
        "geocode_reliability_ours",
        "geocode_reliability_addok",
    ]
    assert "within_09_10=" in curve[0], curve
    assert len(results) == len(KINDS) + 4
    assert (tmp_path / "geocode_vs_addok.json").is_file()
    admin.drop_database(url)


def test_forecast_vs_baselines_smoke(tmp_path: Path) -> None:
    """Baselines, SEPP and our models on a 3 km patch of the NYC thefts, 4 weekly origins."""
    env = {"GEOTRANQUIL_BENCH_OUT": str(tmp_path)}
    stdout = _run("forecast_vs_baselines", ["--smoke"], env)
    results = _result_lines(stdout)
    names = [m["name"] for m in (RESULT.match(line) for line in results) if m]
    assert names == ["forecast_pai5", "forecast_pai1", "forecast_pai10"], results
    assert "PAI 5 %" in stdout
    assert (tmp_path / "forecast_vs_baselines.csv").is_file()
    assert (tmp_path / "forecast_vs_baselines_coverage.png").is_file()
    assert (tmp_path / "forecast_vs_baselines.json").is_file()


def test_fuzz_api_smoke(settings: Settings, tmp_path: Path) -> None:
    url = settings.database_url + "_fuzz"  # beside the test database, never the demo's
    env = {"GEOTRANQUIL_BENCH_DATABASE_URL": url, "GEOTRANQUIL_BENCH_OUT": str(tmp_path)}
    stdout = _run("fuzz_api", ["--smoke"], env, timeout=600)
    last = stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"RESULT fuzz cases=(\d+) server_errors=0 schema_violations=0 PASS", last)
    assert match, last
    assert int(match[1]) >= 40 * 3  # every operation, 3 valid cases at least
    assert (tmp_path / "fuzz_api.json").is_file()
    admin.drop_database(url)
