"""The store at scale (issue 18): ingest, polygon report and uncached tile on a big ``events``.

One database, built once and reused, holds years of synthetic events of the four silos; three
measures run on it, each against its bare peer in the same run:

``build`` (once per parameter set)
    ``GEOTRANQUIL_BENCH_SCALE_DATABASE_URL`` (default ``geotranquil_bench_scale`` on the local
    server) is dropped, migrated to head, the reference areas and the H3 grid are loaded; the
    four silo files are generated into ``benchmarks/out/scale_data/<tag>/`` by
    ``geotranquil synth generate`` (``--echelle``, ``--facteur``/``--scale``, the period and
    the seed passed through, each only when the command accepts it) and ingested with the real
    ``geotranquil ingest FILE --source SLUG``, one command per file, as an operator ingests a
    directory; then ``VACUUM ANALYZE``. The command has no option for the first month today: its
    files start in November 2024, so ten years would lie mostly in the future, which ingest
    rejects. When it cannot place the window in the past, the same generator
    (:func:`geotranquil.synth.generate`, which the command calls) is called in this process
    with the window ending with last month; the JSON and the table say which one ran.
    The parameters and counts go into ``bench_scale_build`` (one row): a later run with the
    same parameters (the first month aside: a window placed a month ago is still ten years)
    and the same number of events reuses the database (migrated in place to a
    newer head first, as the serving benchmark does); different ones rebuild it.

``ingest``
    An extra slice (``--extra-rows``, default 500,000 events over the store's last 12 months,
    with new external ids of the ``bench_points`` source) goes through the pipeline
    (:func:`geotranquil.ingest.pipeline.ingest_file`, in a child process whose peak memory is
    its ``VmHWM``, as in ``ingest_vs_copy``) into the full store; the same rows, already in the
    column shape of ``events``, go by plain ``COPY`` (1) into ``events`` itself, the
    partitioned table of the store with its indexes and triggers, as the issue states the
    peer ("COPY into the partitioned table"; the rows are deleted before the pipeline runs),
    and (2) into ``bench_copy``, an empty table shaped like ``events``: ``LIKE events
    INCLUDING ALL``, and when ``pg_partitioned_table`` lists ``events``, partitioned with its
    partition key and one partition per partition of ``events``, same bounds (the
    partitioned indexes come along; no trigger, empty indexes: a stricter peer). The slice is
    deleted after each round (events, batches, rejections of that source), so the store is
    unchanged for the next run. Goal: pipeline rows/s at least half of the COPY into
    ``events`` (``ratio``), peak memory under 1.5 GB; the ratio to the empty copy is given
    beside it (``ratio_empty_copy``).

``report``
    The polygon report (:func:`geotranquil.services.reports.polygon_report`) on the quartier
    with the most events, over the whole data window, against its statement
    (``db/sql/report.sql``) bound by the service's own :func:`prepare_report` and run bare
    through psycopg; warm, alternately, median of ``--report-runs``. Goal: ratio at most 1.3 and
    the service under 2 s. The service accepts ``GEOTRANQUIL_REPORT_MAX_YEARS`` (ten years by
    default, the window the store is built with); the line gives the window's length
    (``window_days``).

``tile``
    The z12 tile with the most events, of the ``events`` collection (below zoom 14 the map draws
    it as the counts of its resolution-9 hexagons: ``counts-r9``), fetched from our server
    (``uvicorn``, :mod:`benchmarks._servers`) with both tile caches off
    (``GEOTRANQUIL_TILE_CACHE_ENTRIES=0`` and ``GEOTRANQUIL_TILE_CACHE_TTL_S=0``; every answer
    must say ``X-Cache: MISS``, although the same tile is asked again and again), against the
    statement :func:`geotranquil.tiles.mvt.tile_sql` builds for it, same binds, run bare; both
    tiles are decoded with ``mapbox-vector-tile`` and must hold the same features. Goal: ratio
    at most 1.5.

Usage, from the repository root::

    .venv/bin/python -m benchmarks.scale_store --build-only --scale 6      # ~2 M events
    .venv/bin/python -m benchmarks.scale_store --scale 6 --steps ingest,report,tile
    .venv/bin/python -m benchmarks.scale_store --echelle metropole        # once it exists
    .venv/bin/python -m benchmarks.scale_store --smoke                    # tiny, throw-away

Results in ``benchmarks/out/scale_store.json`` and one RESULT line per measure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pandas as pd
import psycopg

from benchmarks import _servers
from benchmarks.ingest_vs_copy import (
    COPY_COLUMNS,
    MAPPING_PATH,
    PipelineResult,
    SideResult,
    admin_sql,
    copy_rows,
    ensure_source,
    run_copy,
    run_pipeline,
    write_copy_csv,
    write_points_csv,
)
from benchmarks.serving_vs_tipg import to_psycopg
from geotranquil.config import Settings
from geotranquil.db.engine import make_engine, psycopg_dsn

NAME = "scale_store"
STEPS = ("ingest", "report", "tile")
INGEST_GOAL = 0.5
RSS_GOAL_MB = 1500
REPORT_GOAL = 1.3
REPORT_LIMIT_S = 2.0
TILE_GOAL = 1.5
TILE_ZOOM = 12
TILE_LAYER = "events"  # drawn as counts-r9 at z12, as on the map
SEED = 42
SLICE_SEED = 20261207
DEFAULT_SCALE = 1.0
DEFAULT_YEARS = 10
DEFAULT_EXTRA_ROWS = 500_000
SMOKE_SCALE = 0.02
SMOKE_YEARS = 4
SMOKE_EXTRA_ROWS = 2_000
CHUNK_ROWS = 50_000
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
TIMEZONE = "Europe/Paris"
BUILD_TABLE = "bench_scale_build"
COPY_TABLE = "bench_copy"
SLICE_PREFIX = "scale-extra-"
NO_TILE_CACHE = {"GEOTRANQUIL_TILE_CACHE_ENTRIES": "0", "GEOTRANQUIL_TILE_CACHE_TTL_S": "0"}
DEFAULT_URL = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/geotranquil_bench_scale"

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
OUT_DIR = Path(os.environ.get("GEOTRANQUIL_BENCH_OUT", BENCH_DIR / "out"))
RESULT_JSON = OUT_DIR / f"{NAME}.json"
DATA_DIR = OUT_DIR / "scale_data"
SLICE_CSV = OUT_DIR / "scale_extra_points.csv"
SLICE_COPY_CSV = OUT_DIR / "scale_extra_copy_rows.csv"
#: runs the project's command line from this interpreter (and this checkout's package)
CLI_BOOT = "import sys; from geotranquil.cli.main import app; sys.argv[0] = 'geotranquil'; app()"


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bench_database_url() -> str:
    return os.environ.get("GEOTRANQUIL_BENCH_SCALE_DATABASE_URL", DEFAULT_URL)


def _scalar(conn: psycopg.Connection[Any], sql: str, params: Any = None) -> Any:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def cli_env(database_url: str) -> dict[str, str]:
    """The environment of the project's commands: this database, wide help, no colours."""
    return {
        **os.environ,
        "GEOTRANQUIL_DATABASE_URL": database_url,
        "COLUMNS": "200",
        "NO_COLOR": "1",
        "TERM": "dumb",
    }


def run_cli(args: list[str], database_url: str, extra_env: dict[str, str] | None = None) -> float:
    """``geotranquil ARGS`` in a child process (its output on our stderr); its wall seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CLI_BOOT, *args],
        cwd=REPO_ROOT,
        env={**cli_env(database_url), **(extra_env or {})},
        stdout=sys.stderr,
        stderr=sys.stderr,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"geotranquil {' '.join(args)} failed (exit {done.returncode})")
    return time.perf_counter() - started


# --------------------------------------------------------------------------------------------
# build


@dataclass(frozen=True)
class BuildParams:
    """What the store is built from; equal parameters (and event count) reuse the database."""

    echelle: str | None
    scale: float
    months: int
    seed: int
    start: str  # first local day of the window (ISO), or "cli-default"
    reference: str

    @property
    def tag(self) -> str:
        return f"{self.echelle or 'ville'}-s{self.seed}-{self.months}m-x{self.scale:g}-{self.start}"


def synth_options(database_url: str) -> set[str]:
    """The options ``geotranquil synth generate`` accepts (read from its ``--help``)."""
    done = subprocess.run(
        [sys.executable, "-c", CLI_BOOT, "synth", "generate", "--help"],
        cwd=REPO_ROOT,
        env=cli_env(database_url),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"geotranquil synth generate --help failed: {done.stderr[-2000:]}")
    return set(re.findall(r"(--[a-z][a-z0-9-]*)", done.stdout))


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def window_start(months: int, today: date | None = None) -> date:
    """First day of a window of ``months`` whole months ending with last month."""
    return _add_months(_month_start(today or date.today()), -months)


@dataclass
class Plan:
    """How the files are generated: by the command (its arguments), or in process."""

    params: BuildParams
    by_cli: bool
    cli_args: list[str]
    note: str


def plan_generation(
    database_url: str, settings: Settings, echelle: str | None, scale: float, months: int, seed: int
) -> Plan:
    """Choose the command's options; fall back to the generator in process when the command
    cannot put the window in the past (no option for the first month)."""
    options = synth_options(database_url)
    reference = str(settings.reference_dir) if settings.reference_dir else "built-in"
    start = window_start(months)
    args = ["synth", "generate", "--seed", str(seed)]
    args += ["--facteur" if "--facteur" in options else "--scale", f"{scale:g}"]
    if "--annees" in options and months % 12 == 0:
        args += ["--annees", str(months // 12)]
    elif "--years" in options and months % 12 == 0:
        args += ["--years", str(months // 12)]
    else:
        args += ["--mois" if "--mois" in options else "--months", str(months)]
    if echelle:
        # rich's help may show only the first name of an option (``--extent, --echelle``)
        name = next((o for o in ("--echelle", "--extent") if o in options), None)
        if name is None:
            raise RuntimeError(
                f"--echelle {echelle}: « geotranquil synth generate » n'accepte pas --echelle "
                f"ici (options : {', '.join(sorted(options))})"
            )
        args += [name, echelle]
    start_option = next((o for o in ("--start", "--debut", "--depuis") if o in options), None)
    if start_option:
        args += [start_option, start.isoformat()]
        params = BuildParams(echelle, scale, months, seed, start.isoformat(), reference)
        return Plan(params, True, args, f"geotranquil {' '.join(args)}")
    if echelle:  # the command's own period: the Métropole set places its ten years itself
        params = BuildParams(echelle, scale, months, seed, "cli-default", reference)
        return Plan(params, True, args, f"geotranquil {' '.join(args)} (its own period)")
    params = BuildParams(None, scale, months, seed, start.isoformat(), reference)
    return Plan(
        params,
        False,
        args,
        "geotranquil.synth.generate in process (the command has no option for the first "
        f"month; its files start in 2024-11 and would run into the future): start {start}",
    )


def generate_files(plan: Plan, database_url: str, settings: Settings) -> tuple[Path, float]:
    """The silo files of ``plan`` (reused when a complete set is there); directory, seconds."""
    from geotranquil.services.demo import DEMO_SOURCES

    out = DATA_DIR / plan.params.tag
    manifest = out / "manifest.json"
    started = time.perf_counter()
    if plan.by_cli:
        # the directory is named after every parameter; the manifest is written last
        if manifest.is_file() and json.loads(manifest.read_text("utf-8")).get("files"):
            _log(f"reusing the files in {out}")
            return out, 0.0
        _log(f"generating: {plan.note} --out {out}")
        run_cli([*plan.cli_args, "--out", str(out)], database_url)
        return out, time.perf_counter() - started
    from geotranquil.geography.reference import load_geography
    from geotranquil.synth import GENERATOR_VERSION, generate

    start = date.fromisoformat(plan.params.start)
    if manifest.is_file() and all((out / f).is_file() for f in DEMO_SOURCES):
        data = json.loads(manifest.read_text("utf-8"))
        found = (
            data.get("seed"),
            data.get("months"),
            float(data.get("scale", 0)),
            data.get("start"),
            data.get("generator_version"),
        )
        wanted = (
            plan.params.seed,
            plan.params.months,
            plan.params.scale,
            start.isoformat(),
            GENERATOR_VERSION,
        )
        if found == wanted:
            _log(f"reusing the files in {out}")
            return out, 0.0
    _log(f"generating: {plan.note} -> {out}")
    last = [-1.0]

    def progress(step: str, done: int, total: int) -> None:
        if total and time.perf_counter() - last[0] > 10:
            last[0] = time.perf_counter()
            _log(f"  generation: {step} {done}/{total}")

    generate(
        load_geography(settings.reference_dir),
        out,
        months=plan.params.months,
        seed=plan.params.seed,
        start=start,
        scale=plan.params.scale,
        progress=progress,
    )
    return out, time.perf_counter() - started


def use_generated_geography(data_dir: Path, settings: Settings) -> Settings:
    """The settings (and this process's environment, which the commands and servers started
    from here inherit) reading the study area a generated set brings (``geographie/`` of a
    Métropole set); unchanged for a city set."""
    geography = data_dir / "geographie"
    if not geography.is_dir():
        return settings
    os.environ["GEOTRANQUIL_REFERENCE_DIR"] = str(geography)
    return settings.model_copy(update={"reference_dir": geography})


def read_build(dsn: str) -> dict[str, Any] | None:
    """The build record, or None when the database or the record is missing."""
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            if _scalar(conn, f"SELECT to_regclass('public.{BUILD_TABLE}')") is None:
                return None
            row = conn.execute(
                f"SELECT params, counts, targets, build_seconds, built_at FROM {BUILD_TABLE}"
            ).fetchone()
    except psycopg.OperationalError:
        return None
    if row is None:
        return None
    return {
        "params": row[0],
        "counts": row[1],
        "targets": row[2],
        "build_seconds": float(row[3]),
        "built_at": row[4].isoformat(),
    }


def count_events(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return int(_scalar(conn, "SELECT count(*) FROM events"))


def events_partitioned(conn: psycopg.Connection[Any], table: str = "events") -> str | None:
    """The partition key of ``table`` (``RANGE (occurred_at)``) when it is partitioned."""
    value = _scalar(
        conn,
        "SELECT pg_get_partkeydef(partrelid) FROM pg_partitioned_table "
        "WHERE partrelid = to_regclass(%s)",
        (table,),
    )
    return None if value is None else str(value)


def store_counts(dsn: str, timezone: str) -> dict[str, Any]:
    """What the store holds: events (located, per source), window, batches, partitions."""
    with psycopg.connect(dsn) as conn:
        total, located, first, last = conn.execute(
            "SELECT count(*), count(geom), min(occurred_at AT TIME ZONE %(tz)s)::date, "
            "max(occurred_at AT TIME ZONE %(tz)s)::date FROM events",
            {"tz": timezone},
        ).fetchone() or (0, 0, None, None)
        per_source = {
            str(slug): int(n)
            for slug, n in conn.execute(
                "SELECT s.slug, count(*) FROM events e JOIN sources s ON s.id = e.source_id "
                "GROUP BY 1 ORDER BY 1"
            )
        }
        read, inserted, rejected = conn.execute(
            "SELECT coalesce(sum(rows_read), 0), coalesce(sum(inserted), 0), "
            "coalesce(sum(rejected), 0) FROM ingest_batches"
        ).fetchone() or (0, 0, 0)
        shape = store_shape(conn)
    return {
        "events": int(total),
        "located": int(located),
        "first_day": first.isoformat() if first else None,
        "last_day": last.isoformat() if last else None,
        "per_source": per_source,
        "rows_read": int(read),
        "inserted": int(inserted),
        "rejected": int(rejected),
        **shape,
    }


def store_shape(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """How ``events`` is stored now (its partition key and count) and the database's size."""
    partitions = _scalar(
        conn, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass"
    )
    size = int(_scalar(conn, "SELECT pg_database_size(current_database())"))
    return {
        "partition_key": events_partitioned(conn),
        "partitions": int(partitions),
        "database_mb": round(size / 2**20),
    }


def _tile_of(lon: np.ndarray, lat: np.ndarray, z: int) -> tuple[np.ndarray, np.ndarray]:
    n = 2**z
    x = np.floor((lon + 180.0) / 360.0 * n).astype(np.int64)
    r = np.radians(lat)
    y = np.floor((1.0 - np.log(np.tan(r) + 1.0 / np.cos(r)) / np.pi) / 2.0 * n).astype(np.int64)
    return x, y


def find_targets(dsn: str, resolutions: tuple[int, ...]) -> dict[str, Any]:
    """The quartier with the most events and the z12 tile with the most events.

    Both start from one ``GROUP BY`` of the H3 ids (a spatial join of every event would take
    minutes at 50 M): the quartier by the quartier of each finest grid cell; the tile by the
    centres of the resolution-9 cells, its few best candidates then counted exactly in their
    envelopes.
    """
    import h3

    fine = max(resolutions)
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            f"SELECT g.quartier_code, sum(c.n)::bigint FROM (SELECT h3_r{fine} AS h3, count(*) "
            f"AS n FROM events WHERE h3_r{fine} IS NOT NULL GROUP BY 1) AS c JOIN grid_cells g "
            "ON g.h3 = c.h3 AND g.resolution = %s WHERE g.quartier_code IS NOT NULL "
            "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
            (fine,),
        ).fetchone()
        if row is None:  # a geography without quartiers in the grid: join the areas
            row = conn.execute(
                "SELECT a.code, count(*) FROM areas a JOIN events e "
                "ON e.geom && a.geom AND ST_Intersects(e.geom, a.geom) "
                "WHERE a.kind = 'quartier' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
            ).fetchone()
        if row is None:
            raise RuntimeError("no quartier holds an event")
        code = str(row[0])
        name = _scalar(
            conn, "SELECT name FROM areas WHERE kind = 'quartier' AND code = %s", (code,)
        )
        cells = conn.execute(
            "SELECT h3_r9, count(*) FROM events WHERE h3_r9 IS NOT NULL GROUP BY 1"
        ).fetchall()
        ids = [int(c) for c, _ in cells]
        counts = np.array([int(n) for _, n in cells], dtype=np.int64)
        centres = np.array([h3.cell_to_latlng(h3.int_to_str(i)) for i in ids], dtype=float)
        x, y = _tile_of(centres[:, 1], centres[:, 0], TILE_ZOOM)
        per_tile = pd.DataFrame({"x": x, "y": y, "n": counts}).groupby(["x", "y"])["n"].sum()
        best: tuple[int, int, int] | None = None
        for tx, ty in per_tile.sort_values(ascending=False).index[:5]:
            n = int(
                _scalar(
                    conn,
                    "SELECT count(*) FROM events WHERE geom && "
                    "ST_Transform(ST_TileEnvelope(%s, %s, %s), 4326)",
                    (TILE_ZOOM, int(tx), int(ty)),
                )
            )
            if best is None or n > best[2]:
                best = (int(tx), int(ty), n)
    assert best is not None
    return {
        "quartier": {"code": code, "name": name, "events_by_cells": int(row[1])},
        "tile": {"z": TILE_ZOOM, "x": best[0], "y": best[1], "events": best[2]},
    }


def build(args: argparse.Namespace) -> dict[str, Any]:
    """The store of ``args`` (reused when already there); its record."""
    from geotranquil.services.database import upgrade_database
    from geotranquil.services.demo import generated_files
    from geotranquil.services.geography import build_cells

    database_url = bench_database_url()
    settings = Settings(database_url=database_url)
    dsn = psycopg_dsn(database_url)
    plan = plan_generation(database_url, settings, args.echelle, args.scale, args.months, args.seed)
    wanted = asdict(plan.params)
    record = None if (args.rebuild or args.smoke) else read_build(dsn)

    def same(params: dict[str, Any]) -> bool:  # a window placed last month is still ten years
        return {k: v for k, v in params.items() if k != "start"} == {
            k: v for k, v in wanted.items() if k != "start"
        }

    if record is not None and same(record["params"]):
        settings = use_generated_geography(DATA_DIR / plan.params.tag, settings)
        upgrade_database(settings)  # a newer schema (partitioned events...) applies in place
        events = count_events(dsn)
        if events == record["counts"]["events"]:
            _log(
                f"reusing {database_url.rsplit('/', 1)[-1]}: {events:,} events "
                f"({record['counts']['first_day']} to {record['counts']['last_day']}), "
                f"built {record['built_at']}"
            )
            note = record["counts"].get("generation", plan.note)
            # the schema may have changed in place since the build: say what it is now
            with psycopg.connect(dsn) as conn:
                counts = {**record["counts"], **store_shape(conn)}
            return {**record, "counts": counts, "reused": True, "generation": note}
        _log(f"the store holds {events:,} events, not {record['counts']['events']:,}: rebuild")
    elif record is not None:
        _log(f"the store was built with {record['params']}, not {wanted}: rebuild")

    started = time.perf_counter()
    # the files first: a Métropole set brings its own study area (built from Marseille's)
    data_dir, generate_seconds = generate_files(plan, database_url, settings)
    settings = use_generated_geography(data_dir, settings)
    _log(f"building {database_url.rsplit('/', 1)[-1]}: schema, areas of {settings.reference_dir}")
    engine = _servers.fresh_database(database_url)
    try:
        _log(f"H3 grid at {settings.analysis_resolutions}")
        cells = build_cells(engine, list(settings.analysis_resolutions))
    finally:
        engine.dispose()
    ingest_seconds = 0.0
    files = {}
    chunk_env = {}
    if args.build_chunk_rows:
        chunk_env["GEOTRANQUIL_INGEST_CHUNK_ROWS"] = str(args.build_chunk_rows)
    for path, slug in generated_files(data_dir):
        file_name = path.name
        _log(
            f"geotranquil ingest {path} --source {slug} ({path.stat().st_size / 2**20:.0f} MB)"
            + (f", GEOTRANQUIL_INGEST_CHUNK_ROWS={args.build_chunk_rows}" if chunk_env else "")
        )
        seconds = run_cli(["ingest", str(path), "--source", slug], database_url, chunk_env)
        ingest_seconds += seconds
        files[file_name] = {"seconds": round(seconds, 2), "mb": round(path.stat().st_size / 2**20)}
    _log("VACUUM ANALYZE")
    vacuum_started = time.perf_counter()
    admin_sql(dsn, "VACUUM ANALYZE")
    vacuum_seconds = time.perf_counter() - vacuum_started
    counts = store_counts(dsn, settings.timezone)
    counts.update(
        {
            "grid_cells": {str(k): v for k, v in cells.items()},
            "files": files,
            "generate_seconds": round(generate_seconds, 1),
            "ingest_seconds": round(ingest_seconds, 1),
            "ingest_rows_per_s": round(counts["rows_read"] / ingest_seconds)
            if ingest_seconds
            else 0,
            "vacuum_seconds": round(vacuum_seconds, 1),
            "ingest_chunk_rows": args.build_chunk_rows or settings.ingest_chunk_rows,
            "generation": plan.note,
        }
    )
    _log("finding the busiest quartier and the densest z12 tile")
    targets = find_targets(dsn, tuple(settings.analysis_resolutions))
    seconds = time.perf_counter() - started
    with psycopg.connect(dsn) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {BUILD_TABLE}")
        conn.execute(
            f"CREATE TABLE {BUILD_TABLE} (params jsonb NOT NULL, counts jsonb NOT NULL, "
            "targets jsonb NOT NULL, build_seconds float8 NOT NULL, "
            "built_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(
            f"INSERT INTO {BUILD_TABLE} (params, counts, targets, build_seconds) "
            "VALUES (%s, %s, %s, %s)",
            (json.dumps(wanted), json.dumps(counts), json.dumps(targets), seconds),
        )
        conn.commit()
    record = read_build(dsn)
    assert record is not None
    _log(
        f"built in {seconds:.0f} s: {counts['events']:,} events, ingested at "
        f"{counts['ingest_rows_per_s']:,} rows/s ({counts['rejected']:,} rows rejected)"
    )
    return {**record, "reused": False, "generation": plan.note}


# --------------------------------------------------------------------------------------------
# ingest: an extra slice through the pipeline into the full store, against COPY


def _index_shapes(conn: psycopg.Connection[Any], table: str) -> list[str]:
    rows = conn.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = %s",
        (table,),
    ).fetchall()
    return sorted(
        re.sub(r"INDEX \S+ ON (ONLY )?public\.\S+", "INDEX ON t", str(d)) for (d,) in rows
    )


def _partitions(conn: psycopg.Connection[Any], table: str) -> list[tuple[str, str]]:
    """(name, bound) of the partitions of ``table``, by name."""
    return [
        (str(name), str(bound))
        for name, bound in conn.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s) "
            "ORDER BY c.relname",
            (table,),
        )
    ]


def create_copy_table(
    conn: psycopg.Connection[Any], source: str = "events", target: str = COPY_TABLE
) -> dict[str, Any]:
    """``target`` shaped like ``source``: columns, defaults, checks, indexes (``LIKE ...
    INCLUDING ALL``; no foreign keys), and when ``source`` is partitioned, its partition key
    and one partition per partition of ``source`` with the same bounds. Committed."""
    conn.execute(f"DROP TABLE IF EXISTS {target} CASCADE")
    key = events_partitioned(conn, source)
    if key is None:
        conn.execute(f"CREATE TABLE {target} (LIKE {source} INCLUDING ALL)")
    else:
        conn.execute(f"CREATE TABLE {target} (LIKE {source} INCLUDING ALL) PARTITION BY {key}")
        for i, (name, bound) in enumerate(_partitions(conn, source)):
            part = name.replace(source, target, 1) if name.startswith(source) else ""
            if not part or len(part) > 63:
                part = f"{target}_p{i:04d}"
            conn.execute(f"CREATE TABLE {part} PARTITION OF {target} {bound}")
    conn.commit()
    ours, theirs = _index_shapes(conn, target), _index_shapes(conn, source)
    if ours != theirs:
        raise RuntimeError(
            f"{target} does not have the indexes of {source}:\n"
            + "\n".join(sorted(set(ours) ^ set(theirs)))
        )
    bounds = sorted(b for _, b in _partitions(conn, target))
    if bounds != sorted(b for _, b in _partitions(conn, source)):
        raise RuntimeError(f"{target} does not have the partitions of {source}")
    return {"partition_key": key, "partitions": len(bounds), "indexes": ours}


def slice_points(rows: int, store_last_day: date, seed: int, settings: Settings) -> pd.DataFrame:
    """``rows`` new events over the 12 months ending with the store's last month (never after
    last month: ingest rejects the future), as the text columns of the point file."""
    from geotranquil.geography.reference import load_geography
    from geotranquil.synth import generate_points

    end = min(_add_months(_month_start(store_last_day), 1), _month_start(date.today()))
    start = _add_months(end, -12)
    points = generate_points(
        rows, seed=seed, geography=load_geography(settings.reference_dir), start=start, months=12
    )
    local = points["occurred_at"].dt.tz_convert(TIMEZONE).dt.tz_localize(None)
    return pd.DataFrame(
        {
            "event_id": [SLICE_PREFIX + str(e) for e in points["event_id"]],
            "occurred_at": local.dt.strftime(TIME_FORMAT).to_numpy(),
            "category": points["category"].astype(str).to_numpy(),
            "lon": np.char.mod("%.7f", points["lon"].to_numpy(dtype=float)),
            "lat": np.char.mod("%.7f", points["lat"].to_numpy(dtype=float)),
        }
    )


def remove_slice(dsn: str, source_id: int) -> int:
    """Delete what the slice's source left (events, rejections, batches); events deleted."""
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "DELETE FROM ingest_rejections WHERE batch_id IN "
            "(SELECT id FROM ingest_batches WHERE source_id = %s)",
            (source_id,),
        )
        deleted = conn.execute("DELETE FROM events WHERE source_id = %s", (source_id,)).rowcount
        conn.execute("DELETE FROM ingest_batches WHERE source_id = %s", (source_id,))
        conn.commit()
    return int(deleted)


def slice_differences(dsn: str, source_id: int) -> int:
    """Rows of the slice in ``events`` and in ``bench_copy`` that differ; 0 when identical."""
    with psycopg.connect(dsn) as conn:
        return int(
            _scalar(
                conn,
                f"""
                SELECT count(*) FROM (SELECT * FROM events WHERE source_id = %s) e
                FULL JOIN {COPY_TABLE} c USING (external_id)
                WHERE e.id IS NULL OR c.id IS NULL
                   OR (e.category, e.occurred_at, e.h3_fine, e.h3_r7, e.h3_r8, e.h3_r9,
                       e.h3_r10, e.location_precision)
                      IS DISTINCT FROM
                      (c.category, c.occurred_at, c.h3_fine, c.h3_r7, c.h3_r8, c.h3_r9,
                       c.h3_r10, c.location_precision)
                   OR NOT ST_OrderingEquals(e.geom, c.geom)
                """,
                (source_id,),
            )
        )


def measure_ingest(record: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    from geotranquil.ingest.mapping import load_mapping
    from geotranquil.taxonomy import load_taxonomy

    database_url = bench_database_url()
    settings = Settings(database_url=database_url)
    dsn = psycopg_dsn(database_url)
    rows = args.extra_rows
    mapping = load_mapping(MAPPING_PATH, {c.code for c in load_taxonomy()})
    source_id = ensure_source(dsn, mapping)
    left = remove_slice(dsn, source_id)  # a run stopped halfway may have left its slice
    if left:
        _log(f"removed {left:,} events an interrupted run had left")
    store_events = count_events(dsn)
    last_day = date.fromisoformat(record["counts"]["last_day"])
    _log(f"ingest: generating the extra slice ({rows:,} events, new ids)")
    points = slice_points(rows, last_day, SLICE_SEED, settings)
    write_points_csv(points, SLICE_CSV)
    write_copy_csv(copy_rows(points, source_id), SLICE_COPY_CSV)
    window = (points["occurred_at"].min(), points["occurred_at"].max())
    del points
    copies: list[SideResult] = []
    stores: list[SideResult] = []
    pipes: list[PipelineResult] = []
    table: dict[str, Any] = {}
    differing = 0
    for round_no in range(1, args.repeat + 1):
        with psycopg.connect(dsn) as conn:
            table = create_copy_table(conn)
        admin_sql(dsn, f"VACUUM ANALYZE {COPY_TABLE}", "CHECKPOINT")
        _log(f"ingest round {round_no}/{args.repeat}: COPY into {COPY_TABLE}")
        copies.append(run_copy(dsn, SLICE_COPY_CSV, rows))
        admin_sql(dsn, "CHECKPOINT")
        _log(f"ingest round {round_no}/{args.repeat}: COPY into events ({store_events:,})")
        stores.append(run_copy(dsn, SLICE_COPY_CSV, rows, table="events"))
        if remove_slice(dsn, source_id) != rows:
            raise RuntimeError("the COPY into events did not leave exactly the slice")
        admin_sql(dsn, "VACUUM ANALYZE events", "CHECKPOINT")
        _log(f"ingest round {round_no}/{args.repeat}: pipeline into events ({store_events:,})")
        pipes.append(run_pipeline(dsn, SLICE_CSV, rows, args.chunk_rows))
        _log(
            f"ingest round {round_no}/{args.repeat}: COPY into events "
            f"{stores[-1].rows_per_s:,.0f} rows/s, into {COPY_TABLE} "
            f"{copies[-1].rows_per_s:,.0f} rows/s, pipeline {pipes[-1].rows_per_s:,.0f} rows/s, "
            f"peak {pipes[-1].peak_rss_mb:.0f} MB"
        )
        if round_no == args.repeat:
            differing = slice_differences(dsn, source_id)
        removed = remove_slice(dsn, source_id)
        if removed != rows:
            raise RuntimeError(f"{removed} slice events removed instead of {rows}")
        admin_sql(dsn, f"DROP TABLE {COPY_TABLE} CASCADE", "VACUUM ANALYZE events")
    after = count_events(dsn)
    if after != store_events:
        raise RuntimeError(
            f"the store holds {after:,} events after the slice, not {store_events:,}"
        )
    copied = min(copies, key=lambda r: r.seconds)
    stored = min(stores, key=lambda r: r.seconds)
    piped = min(pipes, key=lambda r: r.seconds)
    peak = max(p.peak_rss_mb for p in pipes)
    ratio = piped.rows_per_s / stored.rows_per_s if stored.rows_per_s else 0.0
    empty_ratio = piped.rows_per_s / copied.rows_per_s if copied.rows_per_s else 0.0
    passed = round(ratio, 3) >= INGEST_GOAL and peak < RSS_GOAL_MB and differing == 0
    return {
        "rows": rows,
        "store_events": store_events,
        "slice_window": [str(window[0]), str(window[1])],
        "rounds": args.repeat,
        "chunk_rows": args.chunk_rows,
        "pipeline_seconds": piped.seconds,
        "pipeline_rows_per_s": piped.rows_per_s,
        "pipeline_rounds_s": [p.seconds for p in pipes],
        "copy_seconds": copied.seconds,
        "copy_rows_per_s": copied.rows_per_s,
        "copy_rounds_s": [c.seconds for c in copies],
        "copy_events_seconds": stored.seconds,
        "copy_events_rows_per_s": stored.rows_per_s,
        "copy_events_rounds_s": [c.seconds for c in stores],
        "ratio": ratio,
        "ratio_empty_copy": empty_ratio,
        "goal": INGEST_GOAL,
        "peak_mb": peak,
        "goal_mb": RSS_GOAL_MB,
        "identical_rows": differing == 0,
        "copy_table": table,
        "copy_columns": list(COPY_COLUMNS),
        "passed": passed,
    }


# --------------------------------------------------------------------------------------------
# report: the service against its bare statement


def measure_report(record: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    from geotranquil.db.reports import report_sql
    from geotranquil.services.reports import (
        ReportRequest,
        max_period_days,
        polygon_report,
        prepare_report,
    )

    database_url = bench_database_url()
    settings = Settings(database_url=database_url)
    code = record["targets"]["quartier"]["code"]
    first = date.fromisoformat(record["counts"]["first_day"])
    last = date.fromisoformat(record["counts"]["last_day"])
    engine = make_engine(settings)
    try:
        request = ReportRequest(area_kind="quartier", area_code=code, start=first, end=last)
        with engine.connect() as conn:
            query = prepare_report(conn=conn, request=request, settings=settings)
        sql, params = to_psycopg(report_sql(), query.params)
        service: list[float] = []
        bare: list[float] = []
        doc: dict[str, Any] = {}
        raw: Any = None
        took: dict[str, float] = {}
        with psycopg.connect(psycopg_dsn(database_url)) as conn:
            for i in range(args.warmups + args.report_runs):
                order = ("service", "sql") if i % 2 == 0 else ("sql", "service")
                for side in order:
                    t0 = time.perf_counter()
                    if side == "service":
                        doc = polygon_report(engine=engine, request=request, settings=settings)
                        elapsed = time.perf_counter() - t0
                        if i >= args.warmups:
                            service.append(elapsed)
                    else:
                        row = conn.execute(sql, params).fetchone()
                        elapsed = time.perf_counter() - t0
                        conn.rollback()
                        raw = row[0] if row else None
                        if i >= args.warmups:
                            bare.append(elapsed)
                    took[side] = elapsed
                _log(
                    f"report {'warm-up' if i < args.warmups else 'run'} {i + 1}: service "
                    f"{took['service']:.3f} s, SQL {took['sql']:.3f} s"
                )
    finally:
        engine.dispose()
    bare_doc = json.loads(raw) if isinstance(raw, str) else raw
    same = [x["n"] for x in doc["by_category"]] == [x["n"] for x in bare_doc["by_category"]]
    service_s = statistics.median(service)
    sql_s = statistics.median(bare)
    ratio = service_s / sql_s if sql_s else 0.0
    assert request.start is not None and request.end is not None
    return {
        "quartier": record["targets"]["quartier"],
        "start": request.start.isoformat(),
        "end": request.end.isoformat(),
        "window_days": (request.end - request.start).days + 1,
        "data_window": [first.isoformat(), last.isoformat()],
        "service_limit_days": max_period_days(settings),
        "events_in_window": int(doc["totals"]["n"]),
        "service_s": service_s,
        "sql_s": sql_s,
        "service_runs_s": service,
        "sql_runs_s": bare,
        "ratio": ratio,
        "goal": REPORT_GOAL,
        "limit_s": REPORT_LIMIT_S,
        "same_counts": same,
        "passed": round(ratio, 3) <= REPORT_GOAL and service_s < REPORT_LIMIT_S and same,
    }


# --------------------------------------------------------------------------------------------
# tile: our server, caches off, against the bare ST_AsMVT statement


def _features(data: bytes) -> list[tuple[Any, ...]]:
    """The decoded features of a tile (layer, id, properties, geometry), in a stable order."""
    import mapbox_vector_tile

    if not data:
        return []
    decoded = mapbox_vector_tile.decode(data)
    out = []
    for layer, content in decoded.items():
        for f in content["features"]:
            out.append(
                (
                    layer,
                    f.get("id"),
                    json.dumps(f["properties"], sort_keys=True),
                    json.dumps(f["geometry"], sort_keys=True),
                )
            )
    return sorted(out, key=lambda t: (t[0], t[1] if t[1] is not None else -1, t[2], t[3]))


def _analyst_key(database_url: str) -> str:
    from sqlalchemy import text

    from geotranquil.db.keys import create_key

    engine = make_engine(Settings(database_url=database_url))
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM api_keys WHERE name LIKE 'bench-scale-%'"))
            key, _ = create_key(conn=conn, name="bench-scale-analyst", role="analyst")
    finally:
        engine.dispose()
    return key


def bare_tile_statement(database_url: str, z: int, x: int, y: int) -> tuple[str, dict[str, Any]]:
    """The statement our server runs for the analyst's tile, built by the same functions."""
    from geotranquil.features.catalogue import load_catalogue
    from geotranquil.roles import Role
    from geotranquil.services.features import find_collection
    from geotranquil.services.tiles import tile_context
    from geotranquil.tiles.mvt import layer_for, tile_sql

    settings = Settings(database_url=database_url)
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            catalogue = load_catalogue(
                conn=conn, public_max_resolution=settings.public_max_resolution
            )
        collection = find_collection(
            engine=engine, catalogue=catalogue, collection_id=TILE_LAYER, role=Role.ANALYST
        )
    finally:
        engine.dispose()
    layer = layer_for(collection, catalogue, z)
    context = tile_context({}, catalogue, Role.ANALYST, settings)
    sql, params = tile_sql(layer, context, z, x, y, max_points=settings.tile_max_points)
    return to_psycopg(sql, params)


def measure_tile(record: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    database_url = bench_database_url()
    target = record["targets"]["tile"]
    z, x, y = int(target["z"]), int(target["x"]), int(target["y"])
    key = _analyst_key(database_url)
    sql, params = bare_tile_statement(database_url, z, x, y)
    server = _servers.ours_server(
        "scale_tiles", database_url, OUT_DIR / f"{NAME}_logs", NO_TILE_CACHE
    )
    service: list[float] = []
    bare: list[float] = []
    caches: set[str] = set()
    body = b""
    raw: bytes = b""
    took: dict[str, float] = {}
    _log(f"tile: starting our server, caches off; tile z{z}/{x}/{y} ({target['events']:,} events)")
    server.start()
    try:
        url = f"{server.base_url}/collections/{TILE_LAYER}/tiles/WebMercatorQuad/{z}/{y}/{x}"
        headers = {"X-API-Key": key, "Accept-Encoding": "gzip"}
        with (
            httpx.Client(timeout=600, headers=headers) as http,
            psycopg.connect(psycopg_dsn(database_url)) as conn,
        ):
            for i in range(args.warmups + args.tile_runs):
                order = ("service", "sql") if i % 2 == 0 else ("sql", "service")
                for side in order:
                    t0 = time.perf_counter()
                    if side == "service":
                        response = http.get(url)
                        elapsed = time.perf_counter() - t0
                        if response.status_code not in (200, 204):
                            raise RuntimeError(
                                f"GET {url} -> {response.status_code} {response.text[:2000]}"
                            )
                        caches.add(response.headers.get("X-Cache", "(none)"))
                        body = response.content
                        if i >= args.warmups:
                            service.append(elapsed)
                    else:
                        row = conn.execute(sql, params).fetchone()
                        elapsed = time.perf_counter() - t0
                        conn.rollback()
                        raw = bytes(row[0]) if row and row[0] else b""
                        if i >= args.warmups:
                            bare.append(elapsed)
                    took[side] = elapsed
                _log(
                    f"tile {'warm-up' if i < args.warmups else 'run'} {i + 1}: service "
                    f"{took['service']:.4f} s, SQL {took['sql']:.4f} s"
                )
    finally:
        server.stop()
    if caches != {"MISS"}:
        raise RuntimeError(f"the tile was not cut afresh every time: X-Cache {sorted(caches)}")
    ours, theirs = _features(body), _features(raw)
    same = ours == theirs
    service_s = statistics.median(service)
    sql_s = statistics.median(bare)
    ratio = service_s / sql_s if sql_s else 0.0
    return {
        "z": z,
        "x": x,
        "y": y,
        "tile_events": target["events"],
        "features": len(ours),
        "same_features": same,
        "x_cache": sorted(caches),
        "tile_bytes": len(body),
        "service_s": service_s,
        "sql_s": sql_s,
        "service_runs_s": service,
        "sql_runs_s": bare,
        "ratio": ratio,
        "goal": TILE_GOAL,
        "passed": round(ratio, 3) <= TILE_GOAL and same,
    }


# --------------------------------------------------------------------------------------------
# output


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def result_lines(out: dict[str, Any]) -> list[str]:
    lines = []
    if "ingest" in out:
        i = out["ingest"]
        lines.append(
            f"RESULT scale_ingest rows={i['rows']} store_events={i['store_events']} "
            f"pipeline_rows_per_s={i['pipeline_rows_per_s']:.0f} "
            f"copy_events_rows_per_s={i['copy_events_rows_per_s']:.0f} "
            f"copy_empty_rows_per_s={i['copy_rows_per_s']:.0f} "
            f"ratio_empty_copy={i['ratio_empty_copy']:.3f} ratio={i['ratio']:.3f} "
            f"goal={i['goal']} peak_mb={i['peak_mb']:.0f} goal_mb={i['goal_mb']} "
            f"{_verdict(i['passed'])}"
        )
    if "report" in out:
        r = out["report"]
        lines.append(
            f"RESULT scale_report events_in_window={r['events_in_window']} "
            f"window_days={r['window_days']} service_s={r['service_s']:.3f} "
            f"sql_s={r['sql_s']:.3f} ratio={r['ratio']:.3f} goal={r['goal']} "
            f"limit_s={r['limit_s']} {_verdict(r['passed'])}"
        )
    if "tile" in out:
        t = out["tile"]
        lines.append(
            f"RESULT scale_tile z={t['z']} x={t['x']} y={t['y']} features={t['features']} "
            f"service_s={t['service_s']:.4f} sql_s={t['sql_s']:.4f} ratio={t['ratio']:.3f} "
            f"goal={t['goal']} {_verdict(t['passed'])}"
        )
    return lines


def print_table(out: dict[str, Any]) -> None:
    b = out["build"]
    c = b["counts"]
    print()
    print(
        f"store: {c['events']:,} events ({c['located']:,} located) from {c['first_day']} to "
        f"{c['last_day']}, {c['database_mb']:,} MB; events partitioned: "
        f"{c['partition_key'] or 'no'}"
        + (f" ({c['partitions']} partitions)" if c["partition_key"] else "")
    )
    print(f"  per source: {c['per_source']}")
    print(
        f"  build{' (reused)' if b['reused'] else ''}: {b['build_seconds']:.0f} s in all; "
        f"generation {c['generate_seconds']} s; ingest (4 x geotranquil ingest) "
        f"{c['ingest_seconds']} s = {c['ingest_rows_per_s']:,} rows read/s, "
        f"{c['rejected']:,} rows rejected; VACUUM ANALYZE {c['vacuum_seconds']} s; "
        f"chunk {c.get('ingest_chunk_rows', CHUNK_ROWS):,} rows"
    )
    print(f"  parameters: {b['params']}")
    print(f"  generated by: {b['generation']}")
    if "ingest" in out:
        i = out["ingest"]
        t = i["copy_table"]
        print()
        print(
            f"ingest of {i['rows']:,} new events ({i['slice_window'][0]} to "
            f"{i['slice_window'][1]}), chunks of {i['chunk_rows']:,}, best of {i['rounds']} "
            "round(s):"
        )
        print(
            f"  pipeline into events ({i['store_events']:,} events): {i['pipeline_seconds']:.2f} s"
            f" = {i['pipeline_rows_per_s']:,.0f} rows/s, peak {i['peak_mb']:.0f} MB (VmHWM)"
        )
        print(
            f"  COPY into events itself ({i['store_events']:,} events, its indexes and "
            f"triggers): {i['copy_events_seconds']:.2f} s = "
            f"{i['copy_events_rows_per_s']:,.0f} rows/s"
        )
        print(
            f"  COPY into an empty {COPY_TABLE} ({len(t['indexes'])} indexes"
            + (
                f", PARTITION BY {t['partition_key']}, {t['partitions']} partitions"
                if t["partition_key"]
                else ", not partitioned: events is not"
            )
            + f"): {i['copy_seconds']:.2f} s = {i['copy_rows_per_s']:,.0f} rows/s"
        )
        print(
            f"  ratio {i['ratio']:.3f} to the COPY into events (goal >= {i['goal']}), "
            f"{i['ratio_empty_copy']:.3f} to the COPY into the empty table; rows identical: "
            f"{i['identical_rows']}; slice removed, store unchanged"
        )
    if "report" in out:
        r = out["report"]
        q = r["quartier"]
        print()
        print(
            f"report on quartier {q['code']} {q['name']} from {r['start']} to {r['end']} "
            f"({r['window_days']} days; data {r['data_window'][0]} to {r['data_window'][1]}): "
            f"{r['events_in_window']:,} events"
        )
        print(
            f"  service median {r['service_s']:.3f} s, bare SQL median {r['sql_s']:.3f} s, "
            f"ratio {r['ratio']:.3f} (goal <= {r['goal']}, service < {r['limit_s']} s); "
            f"same counts: {r['same_counts']}"
        )
    if "tile" in out:
        t = out["tile"]
        print()
        print(
            f"tile {TILE_LAYER} z{t['z']}/{t['x']}/{t['y']} ({t['tile_events']:,} events under "
            f"it): {t['features']} features, {t['tile_bytes']:,} bytes; X-Cache {t['x_cache']}"
        )
        print(
            f"  server median {t['service_s'] * 1000:.1f} ms, bare ST_AsMVT median "
            f"{t['sql_s'] * 1000:.1f} ms, ratio {t['ratio']:.3f} (goal <= {t['goal']}); "
            f"same features: {t['same_features']}"
        )
    print()
    print(f"load average before and after: {out['load_average']}")


# --------------------------------------------------------------------------------------------
# command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m benchmarks.{NAME}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--build-only", action="store_true", help="build (or reuse) the store")
    parser.add_argument(
        "--steps", default=",".join(STEPS), help=f"measures to run (default {','.join(STEPS)})"
    )
    parser.add_argument("--echelle", default=None, help="the generator's --echelle (metropole)")
    parser.add_argument(
        "--scale", "--facteur", dest="scale", type=float, default=None, help="volume factor"
    )
    parser.add_argument("--years", type=int, default=None, help="years of data (default 10)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--rebuild", action="store_true", help="rebuild even if it is there")
    parser.add_argument(
        "--extra-rows", type=int, default=None, help="events of the ingest slice (500,000)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="ingest rounds (best kept)")
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=CHUNK_ROWS,
        help=f"the pipeline's chunk of the ingest slice (default {CHUNK_ROWS:,}, the setting's)",
    )
    parser.add_argument(
        "--build-chunk-rows",
        type=int,
        default=None,
        help="GEOTRANQUIL_INGEST_CHUNK_ROWS of the build's ingests (default: the setting's); "
        "one chunk per file avoids the known-ids lookup that grows with the file (see the report)",
    )
    parser.add_argument("--report-runs", type=int, default=None, help="timed report runs (7)")
    parser.add_argument("--tile-runs", type=int, default=None, help="timed tile runs (11)")
    parser.add_argument("--warmups", type=int, default=2, help="untimed runs first (2)")
    parser.add_argument("--smoke", action="store_true", help="tiny set, throw-away database")
    args = parser.parse_args(argv)
    smoke = args.smoke
    args.scale = args.scale or (SMOKE_SCALE if smoke else DEFAULT_SCALE)
    args.months = 12 * (args.years or (SMOKE_YEARS if smoke else DEFAULT_YEARS))
    args.extra_rows = args.extra_rows or (SMOKE_EXTRA_ROWS if smoke else DEFAULT_EXTRA_ROWS)
    args.report_runs = args.report_runs or (3 if smoke else 7)
    args.tile_runs = args.tile_runs or (3 if smoke else 11)
    if smoke:
        args.warmups = min(args.warmups, 1)
    args.steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = [s for s in args.steps if s not in STEPS]
    if unknown:
        parser.error(f"unknown step(s) {unknown}; steps: {','.join(STEPS)}")
    return args


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.smoke and "GEOTRANQUIL_BENCH_SCALE_DATABASE_URL" not in os.environ:
        os.environ["GEOTRANQUIL_BENCH_SCALE_DATABASE_URL"] = DEFAULT_URL + "_smoke"  # throw-away
    # a SIGTERM unwinds like an exception, so that the server is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    load = list(os.getloadavg())
    out: dict[str, Any] = {"build": build(args)}
    steps = [] if args.build_only else args.steps
    measures = {"ingest": measure_ingest, "report": measure_report, "tile": measure_tile}
    for step in STEPS:
        if step in steps:
            _log(f"step {step}")
            out[step] = measures[step](out["build"], args)
    out["load_average"] = [round(v, 2) for v in load + list(os.getloadavg())]
    out["at"] = datetime.now(ZoneInfo("UTC")).isoformat(timespec="seconds")
    RESULT_JSON.write_text(json.dumps(_jsonable(out), indent=2, default=str) + "\n", "utf-8")
    print_table(out)
    for line in result_lines(out):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
