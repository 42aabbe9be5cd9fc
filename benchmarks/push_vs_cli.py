"""Push benchmark: events pushed through the API (a real server and a real worker) against the
same rows through ``geotranquil ingest``, same run, a fresh database for each side.

- CLI side: ``geotranquil ingest FILE --mapping bench_points.toml`` on one CSV of N rows, in
  a subprocess; timed from the command's start to its end (what an operator waits for).
- API side: the same rows cut into 10 CSV files, pushed with a partner key bound to the
  source (``POST /sources/bench_points/batches``, multipart, the source's declared mapping) to
  ``uvicorn`` running our app, while ``geotranquil worker`` ingests them; timed from the first
  push to the last batch ``done`` (polled at ``GET /sources/bench_points/batches``).

Goal: API throughput at least 0.8 of the CLI's. Both sides must store all N events. Each run
plays ``--repeat`` rounds (3; 1 with ``--smoke``) of both sides and keeps each side's best
time, as ``ingest_vs_copy`` does: the machine may be shared. The table also shows the CLI's
ingestion alone (its own report, without the command's start-up), a stricter comparison.

Usage, from the repository root::

    .venv/bin/python -m benchmarks.push_vs_cli            # 200,000 rows in 10 batches
    .venv/bin/python -m benchmarks.push_vs_cli --smoke    # 20,000 rows in 10 batches

The database is a throw-away one, ``GEOTRANQUIL_BENCH_DATABASE_URL`` (default
``geotranquil_bench`` on the local server): it is dropped and recreated for each side.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import psycopg

from benchmarks._servers import free_port, fresh_database, terminate
from benchmarks.ingest_vs_copy import (
    MAPPING_PATH,
    SEED,
    bench_database_url,
    make_points,
    write_points_csv,
)
from geotranquil.config import Settings
from geotranquil.db.engine import make_engine, psycopg_dsn
from geotranquil.db.keys import create_key
from geotranquil.geography.reference import load_geography
from geotranquil.ingest.mapping import load_mapping
from geotranquil.ingest.pipeline import upsert_source

NAME = "push_vs_cli"
GOAL_RATIO = 0.8
DEFAULT_ROWS = 200_000
SMOKE_ROWS = 20_000
BATCHES = 10
SLUG = "bench_points"
BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
OUT_DIR = Path(os.environ.get("GEOTRANQUIL_BENCH_OUT", BENCH_DIR / "out"))


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _env(database_url: str, spool: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOTRANQUIL_BENCH")}
    return env | {
        "GEOTRANQUIL_DATABASE_URL": database_url,
        "GEOTRANQUIL_PUSH_SPOOL_DIR": str(spool),
        "PYTHONPATH": str(REPO_ROOT / "src"),
    }


def _count_events(database_url: str) -> int:
    with psycopg.connect(psycopg_dsn(database_url)) as conn:
        row = conn.execute("SELECT count(*) FROM events").fetchone()
    return int(row[0]) if row else 0


@dataclass
class Side:
    rows: int
    seconds: float
    stored: int
    pipeline_seconds: float | None = None  # the CLI's own report of its ingestion (no start-up)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def run_cli(database_url: str, csv_path: Path, rows: int, out_dir: Path) -> Side:
    """``geotranquil ingest`` on the whole file, in a fresh database."""
    fresh_database(database_url).dispose()
    env = _env(database_url, out_dir / "spool-cli")
    command = [
        sys.executable,
        "-m",
        "geotranquil.cli.main",
        "ingest",
        str(csv_path),
        "--mapping",
        str(MAPPING_PATH),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"geotranquil ingest failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    found = _PIPELINE_TIME.search(done.stdout)
    pipeline = float(found[1].replace(",", ".")) if found else None
    return Side(rows, seconds, _count_events(database_url), pipeline)


#: the CLI's summary line: "bench_points ← FILE : terminé (20 000 lignes, 3.8 s)"
_PIPELINE_TIME = re.compile(r"terminé \([^)]*?, ([\d.,]+) s\)")


def _partner_key(database_url: str) -> str:
    """The bench source registered with its declared mapping, and a partner key bound to it."""
    mapping = load_mapping(MAPPING_PATH)
    with psycopg.connect(psycopg_dsn(database_url)) as conn:
        source_id = upsert_source(conn, mapping)
    engine = make_engine(Settings(database_url=database_url))
    try:
        with engine.begin() as conn:
            key, _ = create_key(
                conn=conn, name="bench partner", role="partner", source_id=source_id
            )
    finally:
        engine.dispose()
    return key


def run_push(database_url: str, files: list[Path], rows: int, out_dir: Path) -> Side:
    """The files pushed to a real server while a real worker ingests them, in a fresh database."""
    fresh_database(database_url).dispose()
    key = _partner_key(database_url)
    env = _env(database_url, out_dir / "spool-push")
    port = free_port()
    logs = [(out_dir / f"{NAME}-{n}.log").open("wb") for n in ("server", "worker")]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "benchmarks._servers:geotranquil_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=REPO_ROOT,
        stdout=logs[0],
        stderr=subprocess.STDOUT,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "geotranquil.cli.main", "worker"],
        env=env,
        cwd=REPO_ROOT,
        stdout=logs[1],
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=300) as http:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if http.get("/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not start")
                time.sleep(0.2)
            time.sleep(2)  # the worker's start-up (imports, queue connection)
            if worker.poll() is not None:
                raise RuntimeError("the worker did not start")
            started = time.perf_counter()
            ids = []
            for path in files:
                with path.open("rb") as handle:
                    r = http.post(
                        f"/sources/{SLUG}/batches", files={"file": (path.name, handle, "text/csv")}
                    )
                if r.status_code != 202:
                    raise RuntimeError(f"push refused: {r.status_code} {r.text[:500]}")
                ids.append(r.json()["id"])
            while True:
                items = http.get(f"/sources/{SLUG}/batches", params={"limit": BATCHES}).json()
                states = {b["id"]: b["state"] for b in items["items"]}
                if any(states.get(i) == "failed" for i in ids):
                    raise RuntimeError(f"a batch failed: {items}")
                if all(states.get(i) == "done" for i in ids):
                    break
                time.sleep(0.05)
            seconds = time.perf_counter() - started
    finally:
        terminate(worker)
        terminate(server)
        for log in logs:
            log.close()
    return Side(rows, seconds, _count_events(database_url))


def prepare(rows: int, out_dir: Path) -> tuple[Path, list[Path]]:
    """The whole CSV file and its 10 parts (each with the header)."""
    points = make_points(rows, load_geography(Settings().reference_dir), SEED)
    whole = out_dir / f"{NAME}_points.csv"
    write_points_csv(points, whole)
    parts = []
    size = -(-rows // BATCHES)
    for n in range(BATCHES):
        part = out_dir / f"{NAME}_part{n:02d}.csv"
        write_points_csv(points.iloc[n * size : (n + 1) * size], part)
        parts.append(part)
    return whole, parts


@dataclass
class Outcome:
    rows: int
    batches: int
    cli_seconds: float
    push_seconds: float
    cli_rows_per_s: float
    push_rows_per_s: float
    cli_stored: int
    push_stored: int
    ratio: float
    cli_pipeline_seconds: float | None

    def result_line(self) -> str:
        ok = (
            self.ratio >= GOAL_RATIO
            and self.cli_stored == self.rows
            and self.push_stored == self.rows
        )
        return (
            f"RESULT {NAME} push_rows_per_s={self.push_rows_per_s:.0f} "
            f"cli_rows_per_s={self.cli_rows_per_s:.0f} ratio={self.ratio:.2f} "
            f"goal={GOAL_RATIO} {'PASS' if ok else 'FAIL'}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{NAME}", description=__doc__)
    parser.add_argument("--rows", type=int, default=None, help=f"rows (default {DEFAULT_ROWS:,})")
    parser.add_argument("--smoke", action="store_true", help=f"small run ({SMOKE_ROWS:,} rows)")
    parser.add_argument(
        "--repeat", type=int, default=None, help="rounds, each side's best kept (3; smoke: 1)"
    )
    args = parser.parse_args(argv)
    args.repeat = args.repeat or (1 if args.smoke else 3)
    rows = args.rows or (SMOKE_ROWS if args.smoke else DEFAULT_ROWS)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    database_url = bench_database_url()
    _log(f"{rows:,} synthetic events, {BATCHES} batches")
    whole, parts = prepare(rows, OUT_DIR)
    clis: list[Side] = []
    pushes: list[Side] = []
    for n in range(args.repeat):
        clis.append(run_cli(database_url, whole, rows, OUT_DIR))
        pushes.append(run_push(database_url, parts, rows, OUT_DIR))
        _log(f"round {n + 1}: CLI {clis[-1].seconds:.1f} s, API {pushes[-1].seconds:.1f} s")
    # each side's best round: the machine may be shared, the ratio should not depend on what
    # else ran during one round
    cli = min(clis, key=lambda side: side.seconds)
    pushed = min(pushes, key=lambda side: side.seconds)
    pipelines = [c.pipeline_seconds for c in clis if c.pipeline_seconds]
    cli.pipeline_seconds = min(pipelines) if pipelines else None
    outcome = Outcome(
        rows=rows,
        batches=BATCHES,
        cli_seconds=cli.seconds,
        push_seconds=pushed.seconds,
        cli_rows_per_s=cli.rows_per_s,
        push_rows_per_s=pushed.rows_per_s,
        cli_stored=cli.stored,
        push_stored=pushed.stored,
        ratio=pushed.rows_per_s / cli.rows_per_s if cli.rows_per_s else 0.0,
        cli_pipeline_seconds=cli.pipeline_seconds,
    )
    (OUT_DIR / f"{NAME}.json").write_text(json.dumps(asdict(outcome), indent=2) + "\n", "utf-8")
    print(f"{'side':<32} {'rows':>9} {'seconds':>8} {'rows/s':>9} {'stored':>9}")
    print(
        f"{'geotranquil ingest (1 file)':<32} {rows:>9,} {cli.seconds:>8.2f} "
        f"{cli.rows_per_s:>9,.0f} {cli.stored:>9,}"
    )
    print(
        f"{f'API push ({BATCHES} batches) + worker':<32} {rows:>9,} {pushed.seconds:>8.2f} "
        f"{pushed.rows_per_s:>9,.0f} {pushed.stored:>9,}"
    )
    if cli.pipeline_seconds:
        # stricter: the CLI's ingestion alone, without the command's start-up (imports...)
        alone = rows / cli.pipeline_seconds
        print(
            f"{'  of which ingestion alone':<32} {rows:>9,} {cli.pipeline_seconds:>8.2f} "
            f"{alone:>9,.0f}   (push / ingestion alone: {pushed.rows_per_s / alone:.2f})"
        )
    print(outcome.result_line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
