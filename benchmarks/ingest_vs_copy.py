"""Ingest benchmark: the full pipeline against plain PostgreSQL ``COPY``, same rows, same run.

The pipeline (parse, validate, map, H3, upsert: :func:`geotranquil.ingest.pipeline.ingest_file`)
loads N synthetic events from a CSV file with coordinates into ``events``; in the same run,
plain ``COPY ... FROM STDIN (FORMAT csv)`` loads the same rows, already in the table's column
shape (UTC timestamps, hex EWKB points, H3 ids computed beforehand, untimed), into
``bench_copy``, a table made with ``LIKE events INCLUDING ALL`` (same columns, defaults,
check constraints and indexes; ``LIKE`` copies no foreign keys and no triggers, so the peer
does not pay the statement-level checks of the references to sources and categories, nor the
daily counts, that ``events`` does: migrations 0027 and 0028), partitioned by month with the same
partitions as ``events`` (made beforehand for the data's months, for both sides). The pipeline
also writes each new event's global key into ``event_keys`` (migration 0026), which the peer
``COPY`` does not: that is part of what ingesting costs.

Goal: pipeline throughput at least half of ``COPY``'s, and the pipeline's peak resident memory
under 1.5 GB (it streams). The pipeline runs in a child process so that its memory is measured
alone; the peak is the child's ``VmHWM`` (``/proc/self/status``), because ``ru_maxrss`` of a
child on Linux starts from the parent's RSS at spawn time and would count the parent's data.

Each run prepares the files once, then plays ``--repeat`` rounds (default 3) of COPY then
pipeline on emptied tables, with ``VACUUM ANALYZE`` and ``CHECKPOINT`` between the sides, and
keeps each side's best time: the machine may be shared, and the ratio should not depend on
what else ran in one round. ``--profile`` times the pipeline's steps instead.

Usage, from the repository root::

    .venv/bin/python -m benchmarks.ingest_vs_copy            # 1,000,000 rows
    .venv/bin/python -m benchmarks.ingest_vs_copy --smoke    # 20,000 rows
    .venv/bin/python -m benchmarks.ingest_vs_copy --profile --rows 200000

The database is a throw-away one, ``GEOTRANQUIL_BENCH_DATABASE_URL`` (default
``geotranquil_bench`` on the local server): it is dropped and recreated on every run.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import queue
import re
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import shapely

from geotranquil.config import Settings
from geotranquil.db import admin
from geotranquil.db.engine import make_engine, psycopg_dsn
from geotranquil.db.partitions import ensure_event_partitions
from geotranquil.geography.reference import Geography
from geotranquil.grid.h3ids import ANALYSIS_RESOLUTIONS, FINE_RESOLUTION, cells_from_points
from geotranquil.grid.h3ids import parent_ids as h3_parent_ids
from geotranquil.ingest.mapping import SourceMapping, load_mapping
from geotranquil.services.database import upgrade_database
from geotranquil.services.geography import load_areas
from geotranquil.taxonomy import load_taxonomy

NAME = "ingest_vs_copy"
GOAL_RATIO = 0.5
RSS_GOAL_MB = 1536
DEFAULT_ROWS = 1_000_000
SMOKE_ROWS = 20_000
SEED = 20241101
START = date(2024, 11, 1)
MONTHS = 24
CHUNK_ROWS = 50_000
REPEATS = 3
COPY_BLOCK = 1 << 20
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
TIMEZONE = "Europe/Paris"

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
OUT_DIR = Path(os.environ.get("GEOTRANQUIL_BENCH_OUT", BENCH_DIR / "out"))
MAPPING_PATH = BENCH_DIR / "bench_points.toml"
POINTS_CSV = OUT_DIR / "points.csv"
COPY_CSV = OUT_DIR / "copy_rows.csv"
RESULT_JSON = OUT_DIR / f"{NAME}.json"
PROFILE_TXT = OUT_DIR / f"{NAME}_profile.txt"
DEFAULT_BENCH_URL = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/geotranquil_bench"

POINT_COLUMNS = ("event_id", "occurred_at", "category", "lon", "lat")
#: The columns of ``events`` that the pipeline fills, in the order of the COPY file.
COPY_COLUMNS = (
    "source_id",
    "external_id",
    "category",
    "native_category",
    "occurred_at",
    "reported_at",
    "geom",
    "h3_fine",
    "h3_r7",
    "h3_r8",
    "h3_r9",
    "h3_r10",
    "location_precision",
    "address",
    "attributes",
    "batch_id",
)


# --------------------------------------------------------------------------------------------
# data


def bench_database_url() -> str:
    return os.environ.get("GEOTRANQUIL_BENCH_DATABASE_URL", DEFAULT_BENCH_URL)


def prepare_database(database_url: str) -> tuple[Settings, Geography]:
    """Drop and recreate the throw-away database, migrate it and load the reference areas."""
    settings = Settings(database_url=database_url)
    admin.drop_database(database_url)
    admin.ensure_database(database_url)
    upgrade_database(settings)
    engine = make_engine(settings)
    try:
        geography, _ = load_areas(engine, settings.reference_dir)
    finally:
        engine.dispose()
    return settings, geography


def make_points(n: int, geography: Geography, seed: int) -> pd.DataFrame:
    """N synthetic events as text columns :data:`POINT_COLUMNS`, exactly as the CSV holds them.

    Times are local Europe/Paris wall-clock times without offset; coordinates have 7 decimals.
    """
    from geotranquil.synth import generate_points

    points = generate_points(n, seed=seed, geography=geography, start=START, months=MONTHS)
    return _as_point_text(points, n)


def _as_point_text(points: pd.DataFrame, n: int) -> pd.DataFrame:
    """``generate_points``' frame (tz-aware ``occurred_at``, float ``lon``/``lat``) as text."""
    if len(points) != n:
        raise RuntimeError(f"generate_points returned {len(points)} rows instead of {n}")
    local = points["occurred_at"].dt.tz_convert(TIMEZONE).dt.tz_localize(None)
    return pd.DataFrame(
        {
            "event_id": points["event_id"].astype(str).to_numpy(),
            "occurred_at": local.dt.strftime(TIME_FORMAT).to_numpy(),
            "category": points["category"].astype(str).to_numpy(),
            "lon": np.char.mod("%.7f", points["lon"].to_numpy(dtype=float)),
            "lat": np.char.mod("%.7f", points["lat"].to_numpy(dtype=float)),
        }
    )


def write_points_csv(points: pd.DataFrame, path: Path) -> None:
    """The native file: comma-separated, UTF-8, header :data:`POINT_COLUMNS`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    points.to_csv(path, columns=list(POINT_COLUMNS), index=False, encoding="utf-8")


def utc_times(local_text: pd.Series) -> pd.Series:
    """Local Paris wall-clock strings to UTC, read the way the pipeline documents it.

    In the autumn hour that happens twice the summer-time reading is taken; a spring-forward
    gap moves forward.
    """
    local = pd.to_datetime(local_text, format=TIME_FORMAT)
    aware = local.dt.tz_localize(
        TIMEZONE, ambiguous=np.ones(len(local), dtype=bool), nonexistent="shift_forward"
    )
    return aware.dt.tz_convert("UTC")


def copy_rows(points: pd.DataFrame, source_id: int) -> pd.DataFrame:
    """The same events in the column shape of ``events`` (:data:`COPY_COLUMNS`)."""
    n = len(points)
    lon = points["lon"].to_numpy().astype(float)
    lat = points["lat"].to_numpy().astype(float)
    geom = shapely.to_wkb(
        shapely.set_srid(shapely.points(lon, lat), 4326), hex=True, include_srid=True
    )
    fine = cells_from_points(lon, lat, FINE_RESOLUTION)
    frame = pd.DataFrame(
        {
            "source_id": np.full(n, source_id, dtype=np.int64),
            "external_id": points["event_id"].to_numpy(),
            "category": points["category"].to_numpy(),
            "native_category": points["category"].to_numpy(),
            "occurred_at": utc_times(points["occurred_at"]).dt.strftime("%Y-%m-%d %H:%M:%S+00"),
            "reported_at": None,
            "geom": geom,
            "h3_fine": fine,
        }
    )
    for res in ANALYSIS_RESOLUTIONS:
        frame[f"h3_r{res}"] = h3_parent_ids(fine, res)
    frame["location_precision"] = "exact"
    frame["address"] = None
    frame["attributes"] = "{}"
    frame["batch_id"] = None
    return frame[list(COPY_COLUMNS)]


def write_copy_csv(frame: pd.DataFrame, path: Path) -> None:
    """A headerless CSV that ``COPY ... (FORMAT csv)`` takes as it is (empty field = NULL)."""
    frame.to_csv(path, header=False, index=False, encoding="utf-8")


# --------------------------------------------------------------------------------------------
# database helpers


def admin_sql(dsn: str, *statements: str) -> None:
    """Run statements outside a transaction (VACUUM, CHECKPOINT)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def ensure_source(dsn: str, mapping: SourceMapping) -> int:
    """The ``sources`` row of the benchmark mapping (the pipeline upserts the same row)."""
    from geotranquil.ingest.pipeline import upsert_source

    with psycopg.connect(dsn) as conn:
        source_id = upsert_source(conn, mapping)
        conn.commit()
    return source_id


def _index_shapes(conn: psycopg.Connection[Any], table: str) -> list[str]:
    rows = conn.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = %s",
        (table,),
    ).fetchall()
    shapes = []
    for (definition,) in rows:
        shape = re.sub(r"INDEX \S+ ON (ONLY )?public\.\S+", "INDEX ON t", str(definition))
        shapes.append(shape)
    return sorted(shapes)


def _constraint_counts(conn: psycopg.Connection[Any], table: str) -> dict[str, int]:
    rows = conn.execute(
        "SELECT contype, count(*) FROM pg_constraint WHERE conrelid = %s::regclass "
        "GROUP BY contype",
        (table,),
    ).fetchall()
    names = {"p": "primary", "u": "unique", "c": "check", "f": "foreign", "x": "exclusion"}
    out = {names.get(str(t), str(t)): int(c) for t, c in rows}
    triggers = conn.execute(
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
        (table,),
    ).fetchone()
    out["triggers"] = int(triggers[0]) if triggers else 0
    return out


@dataclass
class CopyTable:
    """What ``LIKE events INCLUDING ALL`` brought along."""

    indexes: list[str]
    constraints: dict[str, int]
    events_constraints: dict[str, int]


def create_copy_table(dsn: str) -> CopyTable:
    """``bench_copy``: same columns, defaults, checks and indexes as ``events``, partitioned by
    month as ``events`` is (the same partitions, ``bench_copy_yYYYYmMM``); no FKs."""
    with psycopg.connect(dsn) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute(
            "CREATE TABLE bench_copy (LIKE events INCLUDING ALL) PARTITION BY RANGE (occurred_at)"
        )
        for name, bound in conn.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass"
        ).fetchall():
            suffix = str(name).removeprefix("events_")
            conn.execute(f"CREATE TABLE bench_copy_{suffix} PARTITION OF bench_copy {bound}")
        conn.commit()
        ours, theirs = _index_shapes(conn, "bench_copy"), _index_shapes(conn, "events")
        if ours != theirs:
            raise RuntimeError(
                "bench_copy does not have the indexes of events:\n"
                + "\n".join(sorted(set(ours) ^ set(theirs)))
            )
        if not any("USING gist (geom)" in s for s in ours):
            raise RuntimeError("bench_copy lacks the GiST index on geom")
        return CopyTable(
            indexes=ours,
            constraints=_constraint_counts(conn, "bench_copy"),
            events_constraints=_constraint_counts(conn, "events"),
        )


@dataclass
class SideResult:
    """One side of the comparison."""

    rows: int
    seconds: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def run_copy(dsn: str, path: Path, rows: int, table: str = "bench_copy") -> SideResult:
    """Time ``COPY table FROM STDIN (FORMAT csv)`` streamed in 1 MB blocks, committed."""
    statement = f"COPY {table} ({', '.join(COPY_COLUMNS)}) FROM STDIN WITH (FORMAT csv)"
    with psycopg.connect(dsn) as conn, path.open("rb") as source:
        started = time.perf_counter()
        with conn.cursor() as cur:
            with cur.copy(statement) as copy:
                while block := source.read(COPY_BLOCK):
                    copy.write(block)
            loaded = cur.rowcount
        conn.commit()
        seconds = time.perf_counter() - started
    if loaded != rows:
        raise RuntimeError(f"COPY loaded {loaded} rows instead of {rows}")
    return SideResult(rows=rows, seconds=seconds)


def count_rows(dsn: str, table: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def compare_tables(dsn: str) -> int:
    """Rows of ``events`` and ``bench_copy`` that differ (by external id); 0 when identical."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            """
            SELECT count(*) FROM events e FULL JOIN bench_copy c USING (external_id)
            WHERE e.id IS NULL OR c.id IS NULL
               OR (e.category, e.native_category, e.occurred_at, e.reported_at, e.h3_fine,
                   e.h3_r7, e.h3_r8, e.h3_r9, e.h3_r10, e.location_precision, e.address,
                   e.attributes)
                  IS DISTINCT FROM
                  (c.category, c.native_category, c.occurred_at, c.reported_at, c.h3_fine,
                   c.h3_r7, c.h3_r8, c.h3_r9, c.h3_r10, c.location_precision, c.address,
                   c.attributes)
               OR NOT ST_OrderingEquals(e.geom, c.geom)
            """
        ).fetchone()
    assert row is not None
    return int(row[0])


# --------------------------------------------------------------------------------------------
# the pipeline side, in a child process


def vm_hwm_mb() -> float:
    """Peak resident memory of this process since it started (``VmHWM``), in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_ingest(dsn: str, csv_path: Path, chunk_rows: int) -> dict[str, Any]:
    """Entry point of the child: run ``ingest_file`` and report time, summary and memory."""
    from geotranquil.ingest.pipeline import ingest_file

    mapping = load_mapping(MAPPING_PATH, {c.code for c in load_taxonomy()})
    started = time.perf_counter()
    summary = ingest_file(dsn, csv_path, mapping, chunk_rows=chunk_rows)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "status": summary.status,
        "rows_read": summary.rows_read,
        "inserted": summary.inserted,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "rejected": summary.rejected,
        "rejections_by_reason": summary.rejections_by_reason,
        "vm_hwm_mb": vm_hwm_mb(),
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


@dataclass
class PipelineResult(SideResult):
    """The pipeline side, as the child reported it."""

    peak_rss_mb: float = 0.0
    children_ru_maxrss_mb: float = 0.0
    process_seconds: float = 0.0
    report: dict[str, Any] = field(default_factory=dict)


def run_pipeline(dsn: str, csv_path: Path, rows: int, chunk_rows: int) -> PipelineResult:
    """Run :func:`child_ingest` in a fresh interpreter and collect what it printed."""
    command = [
        sys.executable,
        "-m",
        f"benchmarks.{NAME}",
        "--child-ingest",
        "--dsn",
        dsn,
        "--csv",
        str(csv_path),
        "--chunk-rows",
        str(chunk_rows),
    ]
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, check=False, env=os.environ
    )
    process_seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"the pipeline child failed (exit {done.returncode}): {done.stdout}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if report["inserted"] != rows or report["rejected"]:
        raise RuntimeError(
            f"the pipeline inserted {report['inserted']} of {rows} rows "
            f"and rejected {report['rejected']}: {report['rejections_by_reason']}"
        )
    return PipelineResult(
        rows=rows,
        seconds=float(report["seconds"]),
        peak_rss_mb=float(report["vm_hwm_mb"]),
        children_ru_maxrss_mb=children,
        process_seconds=process_seconds,
        report=report,
    )


# --------------------------------------------------------------------------------------------
# the run


@dataclass
class Outcome:
    """Every figure of one run (written to ``benchmarks/out/ingest_vs_copy.json``)."""

    rows: int
    chunk_rows: int
    repeats: int
    geography: str
    pipeline_seconds: float
    pipeline_rows_per_s: float
    pipeline_process_seconds: float
    pipeline_rounds_s: list[float]
    copy_seconds: float
    copy_rows_per_s: float
    copy_rounds_s: list[float]
    ratio: float
    goal: float
    peak_rss_mb: float
    children_ru_maxrss_mb: float
    rss_goal_mb: int
    passed: bool
    identical_rows: bool
    copy_table_indexes: list[str]
    copy_table_constraints: dict[str, int]
    events_constraints: dict[str, int]
    prepare_seconds: float
    load_average: list[float]
    pipeline_report: dict[str, Any]

    def result_line(self) -> str:
        return (
            f"RESULT {NAME} pipeline_rows_per_s={self.pipeline_rows_per_s:.0f} "
            f"copy_rows_per_s={self.copy_rows_per_s:.0f} ratio={self.ratio:.3f} "
            f"goal={self.goal} peak_rss_mb={self.peak_rss_mb:.0f} "
            f"rss_goal_mb={self.rss_goal_mb} {'PASS' if self.passed else 'FAIL'}"
        )


def prepare_files(rows: int, seed: int) -> tuple[str, int, float, str]:
    """Database, native CSV, mapping and COPY file; return (dsn, source id, seconds, origin)."""
    started = time.perf_counter()
    database_url = bench_database_url()
    settings, geography = prepare_database(database_url)
    dsn = psycopg_dsn(settings.database_url)
    mapping = load_mapping(MAPPING_PATH, {c.code for c in load_taxonomy()})
    source_id = ensure_source(dsn, mapping)
    _log(f"generating {rows:,} points ({geography.origin})")
    points = make_points(rows, geography, seed)
    stamps = pd.to_datetime(points["occurred_at"], format=TIME_FORMAT)  # local time: a day more
    with psycopg.connect(dsn) as conn:  # the months of the data, for both sides
        ensure_event_partitions(
            conn=conn,
            first=stamps.min() - pd.Timedelta(days=1),
            last=stamps.max() + pd.Timedelta(days=1),
        )
        conn.commit()
    write_points_csv(points, POINTS_CSV)
    write_copy_csv(copy_rows(points, source_id), COPY_CSV)
    del points
    return dsn, source_id, time.perf_counter() - started, geography.origin


def reset_tables(dsn: str) -> None:
    """Empty what a round wrote, so that every round starts from the same empty tables."""
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "TRUNCATE events, event_geocoding, ingest_rejections, ingest_batches "
            "RESTART IDENTITY CASCADE"
        )
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.commit()


def run(rows: int, chunk_rows: int, seed: int, repeats: int) -> Outcome:
    """Prepare once, then ``repeats`` rounds of COPY then pipeline; keep each side's best."""
    dsn, _source_id, prepare_seconds, origin = prepare_files(rows, seed)
    _log(f"files ready in {prepare_seconds:.1f} s: {POINTS_CSV} and {COPY_CSV}")
    load_before = list(os.getloadavg())
    copies: list[SideResult] = []
    pipes: list[PipelineResult] = []
    differing = 0
    table: CopyTable | None = None
    for round_no in range(1, repeats + 1):
        reset_tables(dsn)
        table = create_copy_table(dsn)
        admin_sql(dsn, "VACUUM ANALYZE", "CHECKPOINT")
        _log(f"round {round_no}/{repeats}: COPY side")
        copies.append(run_copy(dsn, COPY_CSV, rows))
        admin_sql(dsn, "VACUUM ANALYZE bench_copy", "CHECKPOINT")

        _log(f"round {round_no}/{repeats}: pipeline side (child process)")
        pipes.append(run_pipeline(dsn, POINTS_CSV, rows, chunk_rows))
        admin_sql(dsn, "VACUUM ANALYZE events", "CHECKPOINT")
        _log(
            f"round {round_no}/{repeats}: COPY {copies[-1].rows_per_s:,.0f} rows/s, "
            f"pipeline {pipes[-1].rows_per_s:,.0f} rows/s"
        )
        in_events = count_rows(dsn, "events")
        if in_events != rows:
            raise RuntimeError(f"events holds {in_events} rows instead of {rows}")
        if round_no == repeats:
            differing = compare_tables(dsn)
    admin_sql(dsn, "DROP TABLE bench_copy")
    assert table is not None

    copied = min(copies, key=lambda r: r.seconds)
    piped = min(pipes, key=lambda r: r.seconds)
    peak = max(p.peak_rss_mb for p in pipes)
    ratio = piped.rows_per_s / copied.rows_per_s if copied.rows_per_s else 0.0
    passed = round(ratio, 3) >= GOAL_RATIO and peak < RSS_GOAL_MB and not differing
    return Outcome(
        rows=rows,
        chunk_rows=chunk_rows,
        repeats=repeats,
        geography=origin,
        pipeline_seconds=piped.seconds,
        pipeline_rows_per_s=piped.rows_per_s,
        pipeline_process_seconds=piped.process_seconds,
        pipeline_rounds_s=[p.seconds for p in pipes],
        copy_seconds=copied.seconds,
        copy_rows_per_s=copied.rows_per_s,
        copy_rounds_s=[c.seconds for c in copies],
        ratio=ratio,
        goal=GOAL_RATIO,
        peak_rss_mb=peak,
        children_ru_maxrss_mb=max(p.children_ru_maxrss_mb for p in pipes),
        rss_goal_mb=RSS_GOAL_MB,
        passed=passed,
        identical_rows=differing == 0,
        copy_table_indexes=table.indexes,
        copy_table_constraints=table.constraints,
        events_constraints=table.events_constraints,
        prepare_seconds=prepare_seconds,
        load_average=[round(v, 2) for v in load_before + list(os.getloadavg())],
        pipeline_report=piped.report,
    )


def print_table(out: Outcome) -> None:
    def rounds(values: list[float]) -> str:
        return ", ".join(f"{v:.2f}" for v in values)

    print()
    print(f"best of {out.repeats} round(s), each: COPY then pipeline, on emptied tables")
    print(f"{'side':<34} {'rows':>10} {'seconds':>9} {'rows/s':>10} {'peak RSS MB':>12}")
    print(
        f"{'pipeline (parse..upsert, events)':<34} {out.rows:>10,} {out.pipeline_seconds:>9.2f} "
        f"{out.pipeline_rows_per_s:>10,.0f} {out.peak_rss_mb:>12.0f}"
    )
    print(
        f"{'COPY (bench_copy, prepared CSV)':<34} {out.rows:>10,} {out.copy_seconds:>9.2f} "
        f"{out.copy_rows_per_s:>10,.0f} {'-':>12}"
    )
    print()
    print(f"ratio pipeline/COPY: {out.ratio:.3f} (goal >= {out.goal})")
    print(f"  rounds, seconds: pipeline {rounds(out.pipeline_rounds_s)}")
    print(f"                   COPY     {rounds(out.copy_rounds_s)}")
    print(f"  load average (1, 5, 15 min) before and after: {out.load_average}")
    print(f"pipeline peak RSS (child VmHWM): {out.peak_rss_mb:.0f} MB (goal < {out.rss_goal_mb})")
    print(
        f"  ru_maxrss of children: {out.children_ru_maxrss_mb:.0f} MB (starts from the parent's "
        "RSS at spawn on Linux: not used)"
    )
    print(
        f"  child process wall time, interpreter start included: "
        f"{out.pipeline_process_seconds:.2f} s"
    )
    print(f"geography: {out.geography}; chunk_rows={out.chunk_rows}")
    gist = sum("USING gist" in s for s in out.copy_table_indexes)
    print(
        f"bench_copy = LIKE events INCLUDING ALL: {len(out.copy_table_indexes)} indexes "
        f"(the same as on events, {gist} GiST), constraints {out.copy_table_constraints}; "
        f"events also has {out.events_constraints.get('foreign', 0)} foreign keys and "
        f"{out.events_constraints.get('triggers', 0)} triggers (references to sources and "
        "categories, daily counts, versions, references to events; migrations 0002, 0024, "
        "0027, 0028), which LIKE does not copy: COPY pays none of them, nor the key table, "
        "the pipeline pays all"
    )
    same = "identical" if out.identical_rows else "DIFFERENT (FAIL)"
    print(f"rows in events vs bench_copy: {same}")


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# profile: the pipeline's steps, timed per thread, then serially under cProfile


class _InlineThread:
    """Stands in for ``threading.Thread``: runs the target at ``start()``, in this thread."""

    def __init__(self, target: Any, args: tuple[Any, ...] = (), **_kwargs: Any) -> None:
        self._target = target
        self._args = args

    def start(self) -> None:
        self._target(*self._args)

    def join(self, timeout: float | None = None) -> None:
        return None


class _UnboundedQueues:
    """Stands in for the ``queue`` module: queues without a bound (the reader runs first)."""

    Full = queue.Full
    Empty = queue.Empty

    @staticmethod
    def Queue(maxsize: int = 0) -> queue.Queue[Any]:  # noqa: N802 (mirrors queue.Queue)
        return queue.Queue()


@dataclass
class StepTimes:
    """Busy seconds of the pipeline's steps (wrappers around its functions), and a profile."""

    seconds: float = 0.0
    read: float = 0.0
    validate: float = 0.0
    write: float = 0.0
    stats: pstats.Stats | None = field(default=None, repr=False)


def timed_ingest(dsn: str, csv_path: Path, chunk_rows: int, *, inline: bool) -> StepTimes:
    """Run the real ``ingest_file`` with timers around ``read_chunks``, ``validate_chunk``
    and ``_write_chunk`` (module attributes of the pipeline, looked up at call time).

    Threaded (``inline=False``), cProfile sees the writer (this thread) only. Inline, the
    reader thread is replaced by a call in this thread (every chunk is read and validated,
    then every chunk written), so that cProfile sees every step.
    """
    from geotranquil.ingest import pipeline

    times = StepTimes()
    saved = {
        name: getattr(pipeline, name)
        for name in ("read_chunks", "validate_chunk", "_write_chunk", "threading", "queue")
    }

    def read(*args: Any) -> Iterator[Any]:
        chunks = saved["read_chunks"](*args)
        while True:
            started = time.perf_counter()
            try:
                chunk = next(chunks)
            except StopIteration:
                times.read += time.perf_counter() - started
                return
            times.read += time.perf_counter() - started
            yield chunk

    def validate(*args: Any) -> Any:
        started = time.perf_counter()
        try:
            return saved["validate_chunk"](*args)
        finally:
            times.validate += time.perf_counter() - started

    def write(*args: Any) -> Any:
        started = time.perf_counter()
        try:
            return saved["_write_chunk"](*args)
        finally:
            times.write += time.perf_counter() - started

    pipeline.read_chunks = read  # type: ignore[assignment]
    pipeline.validate_chunk = validate  # type: ignore[assignment]
    pipeline._write_chunk = write  # type: ignore[assignment]
    if inline:
        pipeline.threading = SimpleNamespace(Thread=_InlineThread, Event=threading.Event)  # type: ignore[assignment]
        pipeline.queue = _UnboundedQueues  # type: ignore[assignment]
    profiler = cProfile.Profile()
    try:
        mapping = load_mapping(MAPPING_PATH, {c.code for c in load_taxonomy()})
        started = time.perf_counter()
        profiler.enable()
        pipeline.ingest_file(dsn, csv_path, mapping, chunk_rows=chunk_rows, force=True)
        profiler.disable()
        times.seconds = time.perf_counter() - started
    finally:
        for name, value in saved.items():
            setattr(pipeline, name, value)
    times.stats = pstats.Stats(profiler)
    return times


def _truncate_events(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "TRUNCATE events, event_geocoding, ingest_rejections, ingest_batches "
            "RESTART IDENTITY CASCADE"
        )
        conn.commit()
    admin_sql(dsn, "VACUUM ANALYZE events", "CHECKPOINT")


#: Functions whose cumulative time the profile summary reports: label -> (file part, name).
#: A function the pipeline no longer calls shows 0.
PROFILE_FUNCTIONS: dict[str, tuple[str, str]] = {
    "read: read_csv (csv module, row checks, columns)": ("readers.py", "read_csv"),
    "  _has_bad_bytes (per row)": ("readers.py", "_has_bad_bytes"),
    "validate: validate_chunk (all)": ("validate.py", "validate_chunk"),
    "  _text (strip, NA)": ("validate.py", "_text"),
    "  parse_times": ("validate.py", "parse_times"),
    "  _numbers (coordinates)": ("validate.py", "_numbers"),
    "  shapely.contains_xy (study area)": ("predicates.py", "contains_xy"),
    "  _attributes": ("validate.py", "_attributes"),
    "  _add_cells (H3)": ("validate.py", "_add_cells"),
    "    cells_from_points (latlng_to_cell loop)": ("h3ids.py", "cells_from_points"),
    "prepare: _new_events_csv (COPY text, reader thread)": ("pipeline.py", "_new_events_csv"),
    "  points_hex_ewkb (geometry)": ("ewkb.py", "points_hex_ewkb"),
    "  frame_csv (Arrow CSV writer)": ("copy.py", "frame_csv"),
    "write: _write_chunk (all)": ("pipeline.py", "_write_chunk"),
    "  DataFrame.to_csv (fallback)": ("generic.py", "to_csv"),
    "  Copy.write (to the server)": ("copy.py", "write"),
    "  Copy.__exit__ (end of COPY, server work)": ("copy.py", "__exit__"),
    "  Cursor.execute (SQL: lookups, upsert/update, checkpoint)": ("cursor.py", "execute"),
    "  Cursor.fetchall": ("cursor.py", "fetchall"),
    "commit: Connection.commit": ("connection.py", "commit"),
    "waiting for the server: Connection.wait": ("connection.py", "wait"),
}


def _cumulative(stats: pstats.Stats, file_part: str, name: str) -> float:
    """Cumulative time of a function; of the outermost one when several match (nested)."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    return max(
        (
            float(ct)
            for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in raw.items()
            if func == name and str(filename).endswith(file_part)
        ),
        default=0.0,
    )


def _stats_text(stats: pstats.Stats, sort: str, limit: int) -> str:
    buffer = io.StringIO()
    stats.stream = buffer  # type: ignore[attr-defined]
    stats.sort_stats(sort).print_stats(limit)
    return buffer.getvalue()


def run_profile(rows: int, chunk_rows: int, seed: int) -> None:
    """Prepare the data, then time the pipeline: plain, per thread, and serially profiled."""
    dsn, _source_id, prepare_seconds, _origin = prepare_files(rows, seed)
    _log(f"files ready in {prepare_seconds:.1f} s")
    admin_sql(dsn, "VACUUM ANALYZE", "CHECKPOINT")

    _log("ingest_file as in the benchmark (in this process)")
    plain = float(child_ingest(dsn, POINTS_CSV, chunk_rows)["seconds"])
    _truncate_events(dsn)
    _log("ingest_file, threaded, with timers")
    threaded = timed_ingest(dsn, POINTS_CSV, chunk_rows, inline=False)
    _truncate_events(dsn)
    _log("ingest_file, one thread, with timers")
    serial = timed_ingest(dsn, POINTS_CSV, chunk_rows, inline=True)
    _truncate_events(dsn)
    _log("ingest_file, one thread, under cProfile")
    profiled = timed_ingest(dsn, POINTS_CSV, chunk_rows, inline=True)
    stats = profiled.stats
    assert stats is not None and threaded.stats is not None

    lines = [
        f"profile of the pipeline side, {rows:,} rows, chunk_rows={chunk_rows}",
        f"ingest_file as benchmarked: {plain:.2f} s = {rows / plain:,.0f} rows/s",
        f"threaded, with timers: {threaded.seconds:.2f} s wall",
        f"  reader thread busy: read {threaded.read:.2f} s + validate {threaded.validate:.2f} s"
        f" = {threaded.read + threaded.validate:.2f} s",
        f"  writer thread busy: _write_chunk {threaded.write:.2f} s",
        f"one thread, with timers: {serial.seconds:.2f} s wall",
    ]
    for name in ("read", "validate", "write"):
        value = float(getattr(serial, name))
        lines.append(f"  {name:<9} {value:8.2f} s  {100 * value / serial.seconds:5.1f} %")
    total = float(stats.total_tt)  # type: ignore[attr-defined]
    lines.append(f"one thread, under cProfile (total {total:.2f} s, profiler overhead included):")
    for label, (file_part, name) in PROFILE_FUNCTIONS.items():
        value = _cumulative(stats, file_part, name)
        lines.append(f"  {label:<60} {value:8.2f} s  {100 * value / total:5.1f} %")
    text = "\n".join(lines)
    print(text)
    PROFILE_TXT.write_text(
        "\n\n".join(
            (
                text,
                "writer thread of the threaded run, by cumulative time:",
                _stats_text(threaded.stats, "cumulative", 30),
                "one thread, by cumulative time:",
                _stats_text(stats, "cumulative", 50),
                "one thread, by own time:",
                _stats_text(stats, "tottime", 40),
            )
        ),
        encoding="utf-8",
    )
    _log(f"full profile in {PROFILE_TXT}")


# --------------------------------------------------------------------------------------------
# command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{NAME}", description=__doc__)
    parser.add_argument("--rows", type=int, default=None, help=f"rows (default {DEFAULT_ROWS:,})")
    parser.add_argument("--smoke", action="store_true", help=f"small run ({SMOKE_ROWS:,} rows)")
    parser.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--repeat",
        type=int,
        default=REPEATS,
        help=f"rounds of COPY then pipeline; each side's best is kept (default {REPEATS})",
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile the pipeline's steps instead"
    )
    parser.add_argument("--child-ingest", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_ingest:
        print(json.dumps(child_ingest(args.dsn, args.csv, args.chunk_rows)), flush=True)
        return 0
    rows = args.rows or (SMOKE_ROWS if args.smoke else DEFAULT_ROWS)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    if args.profile:
        run_profile(rows, args.chunk_rows, args.seed)
        return 0
    outcome = run(rows, args.chunk_rows, args.seed, args.repeat)
    RESULT_JSON.write_text(json.dumps(asdict(outcome), indent=2) + "\n", encoding="utf-8")
    print_table(outcome)
    print(outcome.result_line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
