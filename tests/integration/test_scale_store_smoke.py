"""The store-at-scale benchmark runs end to end in its smoke size (speed is not judged here), and
its COPY peer is shaped like ``events``, partitions included when ``events`` is partitioned."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from benchmarks.scale_store import create_copy_table

from geotranquil.config import Settings
from geotranquil.db import admin
from geotranquil.db.engine import psycopg_dsn
from tests.conftest import sibling_database_url

REPO = Path(__file__).resolve().parents[2]
RESULT = re.compile(
    r"^RESULT (?P<name>\w+) (?:\w+=[\d.]+ )+ratio=(?P<ratio>[\d.]+) goal=[\d.]+ .*(PASS|FAIL)$"
)


def _run(
    args: list[str], env: dict[str, str], timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale_store", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _results(stdout: str) -> list[re.Match[str]]:
    lines = stdout.strip().splitlines()
    assert lines[-1].startswith("RESULT "), lines[-1]
    matches = [RESULT.match(line) for line in lines if line.startswith("RESULT ")]
    assert all(matches), lines
    return [m for m in matches if m]


def test_scale_store_smoke(settings: Settings, tmp_path: Path) -> None:
    """Build a tiny store, measure the three steps; a second run with the same parameters
    reuses the store instead of building it again."""
    url = sibling_database_url(settings.database_url, "bench_scale")
    env = {"GEOTRANQUIL_BENCH_SCALE_DATABASE_URL": url, "GEOTRANQUIL_BENCH_OUT": str(tmp_path)}
    done = _run(["--smoke"], env)
    matches = _results(done.stdout)
    assert [m["name"] for m in matches] == ["scale_ingest", "scale_report", "scale_tile"]
    assert all(float(m["ratio"]) > 0 for m in matches)
    assert " rows=2000 " in matches[0].group(0)
    assert " goal_mb=1500 " in matches[0].group(0)
    assert " ratio_empty_copy=" in matches[0].group(0)  # both peers: events itself, empty copy
    assert " limit_s=2.0 " in matches[1].group(0)
    assert matches[2].group(0).startswith("RESULT scale_tile z=12 ")

    out: dict[str, Any] = json.loads((tmp_path / "scale_store.json").read_text("utf-8"))
    counts = out["build"]["counts"]
    dsn = psycopg_dsn(url)
    with psycopg.connect(dsn) as conn:
        stored = conn.execute("SELECT count(*) FROM events").fetchone()
        quartier_events = conn.execute(
            "SELECT count(*) FROM events e JOIN areas a ON ST_Intersects(e.geom, a.geom) "
            "WHERE a.kind = 'quartier' AND a.code = %s AND e.occurred_at >= "
            "(%s::date)::timestamp AT TIME ZONE 'Europe/Paris' AND e.occurred_at < "
            "(%s::date + 1)::timestamp AT TIME ZONE 'Europe/Paris'",
            (out["report"]["quartier"]["code"], out["report"]["start"], out["report"]["end"]),
        ).fetchone()
        left = conn.execute(
            "SELECT count(*) FROM events WHERE external_id LIKE 'scale-extra-%'"
        ).fetchone()
        copy_table = conn.execute("SELECT to_regclass('public.bench_copy')").fetchone()
    # the build's record is what the store holds; the slice left nothing behind
    assert stored == (counts["events"],)
    assert sum(counts["per_source"].values()) == counts["events"] > 1000
    assert out["ingest"]["store_events"] == counts["events"]
    assert left == (0,) and copy_table == (None,)
    assert out["ingest"]["identical_rows"] is True
    assert out["ingest"]["copy_events_rows_per_s"] > 0 and out["ingest"]["copy_rows_per_s"] > 0
    assert out["ingest"]["copy_table"]["partition_key"] == counts["partition_key"]
    # four years of data, within the service's longest period (ten years): the report counts
    # exactly the events of the quartier in the whole window
    first, last = (date.fromisoformat(d) for d in (counts["first_day"], counts["last_day"]))
    assert (out["report"]["start"], out["report"]["end"]) == (first.isoformat(), last.isoformat())
    assert out["report"]["window_days"] == (last - first).days + 1 > 1098
    assert out["report"]["service_limit_days"] == 3660
    assert quartier_events == (out["report"]["events_in_window"],)
    assert out["report"]["same_counts"] is True
    # the tile was cut afresh every time, and the server's and the bare SQL's are the same
    assert out["tile"]["x_cache"] == ["MISS"]
    assert out["tile"]["same_features"] is True and out["tile"]["features"] > 0

    again = _run(
        ["--scale", "0.02", "--years", "4", "--steps", "report", "--report-runs", "1"], env
    )
    assert "reusing " in again.stderr and "building " not in again.stderr
    assert [m["name"] for m in _results(again.stdout)] == ["scale_report"]
    admin.drop_database(url)


def test_copy_table_follows_partitioning(settings: Settings) -> None:
    """A partitioned source gives a partitioned copy with the same key, bounds and indexes,
    whose rows land in the partition of their month; a plain source gives a plain copy."""
    url = sibling_database_url(settings.database_url, "bench_scale_parts")
    admin.drop_database(url)
    admin.ensure_database(url)
    try:
        with psycopg.connect(psycopg_dsn(url)) as conn:
            conn.execute(
                "CREATE TABLE src (id bigint GENERATED ALWAYS AS IDENTITY, "
                "occurred_at timestamptz NOT NULL, h3 bigint, note text DEFAULT 'x' "
                "CHECK (note <> ''), PRIMARY KEY (id, occurred_at)) "
                "PARTITION BY RANGE (occurred_at)"
            )
            for month in (1, 2, 3):
                conn.execute(
                    f"CREATE TABLE src_2026_0{month} PARTITION OF src FOR VALUES FROM "
                    f"('2026-0{month}-01 00:00+00') TO ('2026-0{month + 1}-01 00:00+00')"
                )
            conn.execute("CREATE INDEX ON src (h3, occurred_at)")
            conn.execute("CREATE TABLE plain (id bigint PRIMARY KEY, h3 bigint)")
            conn.execute("CREATE INDEX ON plain (h3)")
            conn.commit()

            made = create_copy_table(conn, source="src", target="copy_src")
            assert made["partition_key"] == "RANGE (occurred_at)"
            assert made["partitions"] == 3
            assert len(made["indexes"]) == 2  # the primary key and (h3, occurred_at)
            parts = conn.execute(
                "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'copy_src'::regclass ORDER BY 1"
            ).fetchall()
            assert [p[0] for p in parts] == [
                "copy_src_2026_01",
                "copy_src_2026_02",
                "copy_src_2026_03",
            ]
            assert parts[1][1] == (
                "FOR VALUES FROM ('2026-02-01 00:00:00+00') TO ('2026-03-01 00:00:00+00')"
            )
            conn.execute("SET TIME ZONE 'UTC'")
            landed = conn.execute(
                "INSERT INTO copy_src (occurred_at, h3) VALUES ('2026-02-14 12:00+00', 7) "
                "RETURNING tableoid::regclass::text, id, note"
            ).fetchone()
            assert landed == ("copy_src_2026_02", 1, "x")
            conn.commit()

            flat = create_copy_table(conn, source="plain", target="copy_plain")
            assert flat["partition_key"] is None and flat["partitions"] == 0
            assert len(flat["indexes"]) == 2
    finally:
        admin.drop_database(url)
