"""Reads on the replica while the primary ingests: items pages per second, replica vs primary.

What it shows: whether sending the read-only API to the streaming replica
(``GEOTRANQUIL_READ_DATABASE_URL``) keeps the analysts' reads at least as fast while the primary
is busy ingesting. The peer is the same server reading on the primary, in the same run, under
the same ingest. Goal: ratio (replica pages/s / primary pages/s) >= 1.0. Both clusters run on
the same two cores here, so the replica saves no CPU: what it can spare the reads is the
primary's write traffic (locks, buffer churn, WAL flushes), and what it costs is its own WAL
replay; the lag (seconds behind the primary) is measured during the run.

Data: ``GEOTRANQUIL_BENCH_REPLICA_DATABASE_URL`` (default ``geotranquil_bench_replica`` on the
local primary), N synthetic events and a Gi* run built like the serving benchmark's
(:func:`benchmarks.serving_vs_tipg.prepare_data`, reused when it already holds them); the
replica is the same database on ``GEOTRANQUIL_BENCH_REPLICA_URL`` (default: port 5433, see
``scripts/pg_topology.sh``).

Servers: two processes of our application (:func:`benchmarks._servers.ours_server`, one uvicorn
worker each): ``primary`` reads on the primary, ``replica`` with the read replica set; both
write their audit rows on the primary. Load: ``--clients`` Python threads walk the events
collection by keyset pages of 1,000 items (``/collections/events/items?limit=1000``, then each
page's ``next`` link, from the start again at the end) with an analyst key, for ``--seconds``
per side and round, sides alternating (``--rounds``); the rate is the median of the rounds.
Ingest: ``geotranquil ingest`` runs in a child process, one file of ``--ingest-rows`` new events
after another, for as long as the reads are measured.

Usage, from the repository root::

    .venv/bin/python -m benchmarks.replica_reads            # 300,000 events, 3 rounds of 20 s
    .venv/bin/python -m benchmarks.replica_reads --small    # 20,000 events, 1 round of 3 s

Ends with ``RESULT replica_reads replica_pages_per_s=... primary_pages_per_s=... ratio=...
lag_max_s=... goal=1.0 PASS|FAIL``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import make_url

from benchmarks import serving_vs_tipg as base
from benchmarks._servers import REPO_ROOT, Server, ours_server, terminate
from benchmarks.ingest_vs_copy import make_points, write_points_csv
from geotranquil.db.engine import psycopg_dsn

NAME = "replica_reads"
GOAL = 1.0
DEFAULT_EVENTS = 300_000
SMALL_EVENTS = 20_000
DEFAULT_URL = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/geotranquil_bench_replica"
REPLICA_PORT = 5433
PAGE = 1000
OUT_DIR = Path(os.environ.get("GEOTRANQUIL_BENCH_OUT", base.BENCH_DIR / "out"))
#: no read limit gets in the way of the benchmark's clients
ENV = {"GEOTRANQUIL_READ_RATE_PER_MINUTE": "1000000000", "GEOTRANQUIL_READ_RATE_BURST": "1000000"}


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bench_database_url() -> str:
    return os.environ.get("GEOTRANQUIL_BENCH_REPLICA_DATABASE_URL", DEFAULT_URL)


def replica_url(database_url: str) -> str:
    """The bench database on the replica: ``GEOTRANQUIL_BENCH_REPLICA_URL``, else port 5433."""
    default = make_url(database_url).set(port=REPLICA_PORT).render_as_string(hide_password=False)
    return os.environ.get("GEOTRANQUIL_BENCH_REPLICA_URL", default)


def wait_replayed(primary_dsn: str, replica_dsn: str, timeout: float = 600) -> float:
    """Wait until the replica has replayed what the primary wrote so far; the seconds it took."""
    started = time.monotonic()
    with psycopg.connect(primary_dsn, autocommit=True) as conn:
        row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    assert row is not None
    target = row[0]
    while time.monotonic() - started < timeout:
        try:
            with psycopg.connect(replica_dsn, autocommit=True, connect_timeout=5) as conn:
                done = conn.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)
                ).fetchone()
            if done and done[0]:
                return time.monotonic() - started
        except psycopg.OperationalError:  # the database is not on the replica yet
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the replica did not replay up to {target} in {timeout:.0f} s")


class LagSampler:
    """Samples the replica's lag (seconds and bytes behind the primary) every 0.25 s."""

    def __init__(self, primary_dsn: str, replica_dsn: str) -> None:
        self.primary_dsn, self.replica_dsn = primary_dsn, replica_dsn
        self.seconds: list[float] = []
        self.bytes: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lag", daemon=True)

    def _run(self) -> None:
        with (
            psycopg.connect(self.primary_dsn, autocommit=True) as primary,
            psycopg.connect(self.replica_dsn, autocommit=True) as replica,
        ):
            while not self._stop.wait(0.25):
                row = replica.execute(
                    "SELECT pg_last_wal_replay_lsn()::text, CASE WHEN pg_last_wal_receive_lsn() "
                    "= pg_last_wal_replay_lsn() THEN 0 ELSE extract(epoch FROM clock_timestamp() "
                    "- pg_last_xact_replay_timestamp()) END::float8"
                ).fetchone()
                assert row is not None
                behind = primary.execute(
                    "SELECT greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn), 0)",
                    (row[0],),
                ).fetchone()
                assert behind is not None
                self.seconds.append(float(row[1] or 0.0))
                self.bytes.append(int(behind[0]))

    def __enter__(self) -> LagSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


class Ingester:
    """``geotranquil ingest`` in child processes, one file after another, until stopped."""

    def __init__(self, database_url: str, files: list[Path]) -> None:
        self.database_url = database_url
        self.files = files
        self.done_rows = 0
        self.files_done = 0
        self._stop = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)
        self._rows = {f: sum(1 for _ in f.open(encoding="utf-8")) - 1 for f in files}

    def _run(self) -> None:
        env = {**os.environ, "GEOTRANQUIL_DATABASE_URL": self.database_url}
        env.pop("GEOTRANQUIL_READ_DATABASE_URL", None)
        i = 0
        while not self._stop.is_set():
            path = self.files[i % len(self.files)]
            command = [sys.executable, "-m", "geotranquil.cli.main", "ingest", str(path)]
            command += ["--mapping", str(base.MAPPING_PATH)]
            if i >= len(self.files):
                command.append("--force")  # the same file again: read and upserted again
            self._process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            _, err = self._process.communicate()
            if self._process.returncode == 0:
                self.done_rows += self._rows[path]
                self.files_done += 1
            elif not self._stop.is_set():
                raise RuntimeError(f"geotranquil ingest failed: {err.decode()[-2000:]}")
            i += 1

    def __enter__(self) -> Ingester:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        terminate(self._process)  # the file's batch is left to resume; a throw-away database
        self._thread.join(timeout=60)


@dataclass
class Side:
    """One server's measured rounds."""

    name: str
    rates: list[float] = field(default_factory=list)
    pages: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def per_s(self) -> float:
        return statistics.median(self.rates) if self.rates else 0.0


def walk_pages(server: Server, key: str, clients: int, seconds: float, side: Side) -> None:
    """``clients`` threads walk the events by keyset pages for ``seconds``; the rate is added."""
    start_url = f"{server.base_url}/collections/events/items?limit={PAGE}"
    counts = [0] * clients
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def walk(i: int) -> None:
        url = start_url
        with httpx.Client(timeout=300, headers={"X-API-Key": key}) as http:
            while time.monotonic() < deadline:
                r = http.get(url)
                with lock:
                    side.statuses[r.status_code] = side.statuses.get(r.status_code, 0) + 1
                if r.status_code != 200:
                    raise RuntimeError(f"{side.name}: {r.status_code} {r.text[:300]}")
                body = r.json()
                counts[i] += 1
                nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
                url = nxt[0] if nxt else start_url
                if nxt and "after=" not in url:
                    raise RuntimeError(f"not a keyset page link: {url}")

    started = time.monotonic()
    threads = [threading.Thread(target=walk, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    side.pages += sum(counts)
    side.rates.append(sum(counts) / elapsed)


def _events(dsn: str) -> int:
    """Events in the bench database (on the primary)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM events").fetchone()
    return int(row[0]) if row else 0


def _wait_ingesting(dsn: str, timeout: float = 300) -> None:
    """Wait until an ingest batch runs on the primary (the child process has started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM ingest_batches WHERE status = 'running'"
            ).fetchone()
        if row and row[0]:
            return
        time.sleep(0.1)
    raise RuntimeError(f"no ingest batch running after {timeout:.0f} s")


def run(args: argparse.Namespace) -> dict[str, Any]:
    database_url = bench_database_url()
    replica = replica_url(database_url)
    primary_dsn, replica_dsn = psycopg_dsn(database_url), psycopg_dsn(replica)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    data = base.prepare_data(database_url, args.events, args.seed, args.rebuild)
    keys = base.create_keys(database_url)
    caught_up = wait_replayed(primary_dsn, replica_dsn)
    _log(f"replica caught up in {caught_up:.1f} s")
    # the ingest files: new events (ids of their own), written once per run
    from geotranquil.config import Settings
    from geotranquil.geography.reference import load_geography

    geography = load_geography(Settings(database_url=database_url).reference_dir)
    files = []
    for n in range(2):
        points = make_points(args.ingest_rows, geography, seed=args.seed + 1 + n)
        points["event_id"] = [f"R{n}-{int(time.time())}-{i}" for i in range(len(points))]
        path = OUT_DIR / f"{NAME}-ingest-{n}.csv"
        write_points_csv(points, path)
        files.append(path)
    log_dir = OUT_DIR / f"{NAME}-logs"
    servers = {
        "primary": ours_server("primary", database_url, log_dir, extra_env=ENV),
        "replica": ours_server(
            "replica",
            database_url,
            log_dir,
            extra_env={**ENV, "GEOTRANQUIL_READ_DATABASE_URL": replica},
        ),
    }
    sides = {name: Side(name) for name in servers}
    try:
        for server in servers.values():
            server.start()
        health = httpx.get(servers["replica"].base_url + "/health", timeout=30).json()
        if not health["replica"].get("in_recovery"):
            raise RuntimeError(f"the replica server does not read on a replica: {health}")
        for name, server in servers.items():  # warm-up: a walk of a few pages each
            walk_pages(server, keys["analyst"], 1, min(2.0, args.seconds), Side(name))
        events_before = _events(primary_dsn)
        with LagSampler(primary_dsn, replica_dsn) as lag, Ingester(database_url, files) as ing:
            _wait_ingesting(primary_dsn)
            for r in range(args.rounds):
                order = ("replica", "primary") if r % 2 == 0 else ("primary", "replica")
                for name in order:
                    walk_pages(
                        servers[name], keys["analyst"], args.clients, args.seconds, sides[name]
                    )
                    _log(f"round {r + 1}: {name} {sides[name].rates[-1]:.1f} pages/s")
            ingested, ingest_files = _events(primary_dsn) - events_before, ing.files_done
        lag_s = max(lag.seconds, default=0.0)
        lag_bytes = max(lag.bytes, default=0)
    finally:
        for server in servers.values():
            server.stop()
    return {
        "events": data.events,
        "rounds": args.rounds,
        "seconds": args.seconds,
        "clients": args.clients,
        "ingest_rows_per_file": args.ingest_rows,
        "ingested_rows": ingested,
        "ingest_files_done": ingest_files,
        "replica_pages_per_s": sides["replica"].per_s,
        "primary_pages_per_s": sides["primary"].per_s,
        "replica_rates": sides["replica"].rates,
        "primary_rates": sides["primary"].rates,
        "statuses": {name: s.statuses for name, s in sides.items()},
        "lag_max_s": lag_s,
        "lag_max_bytes": lag_bytes,
        "cores": os.cpu_count(),
    }


def result_line(out: dict[str, Any]) -> str:
    replica, primary = out["replica_pages_per_s"], out["primary_pages_per_s"]
    ratio = replica / primary if primary else 0.0
    verdict = "PASS" if ratio >= GOAL else "FAIL"
    return (
        f"RESULT {NAME} replica_pages_per_s={replica:.2f} primary_pages_per_s={primary:.2f} "
        f"ratio={ratio:.2f} lag_max_s={out['lag_max_s']:.2f} goal={GOAL} {verdict}"
    )


def print_table(out: dict[str, Any]) -> None:
    print(
        f"items pages of {PAGE} (keyset), {out['clients']} client threads, "
        f"{out['rounds']} round(s) of {out['seconds']:.0f} s per side, {out['events']:,} events, "
        f"{out['cores']} cores"
    )
    print(
        f"ingest on the primary meanwhile: {out['ingested_rows']:,} new events stored, "
        f"{out['ingest_files_done']} file(s) of {out['ingest_rows_per_file']:,} rows done"
    )
    for name in ("replica", "primary"):
        rates = ", ".join(f"{r:.1f}" for r in out[f"{name}_rates"])
        print(
            f"{name:8s} {out[f'{name}_pages_per_s']:8.2f} pages/s (median of {rates}) "
            f"statuses {out['statuses'][name]}"
        )
    print(f"replica lag: at most {out['lag_max_s']:.2f} s, {out['lag_max_bytes']:,} bytes")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="a small run (smoke test)")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--ingest-rows", type=int, default=None)
    parser.add_argument("--seed", type=int, default=base.SEED)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the bench database")
    args = parser.parse_args(argv)
    small = args.small
    args.events = args.events or (SMALL_EVENTS if small else DEFAULT_EVENTS)
    args.rounds = args.rounds or (1 if small else 3)
    args.seconds = args.seconds or (3.0 if small else 20.0)
    args.clients = args.clients or (2 if small else 4)
    args.ingest_rows = args.ingest_rows or (5_000 if small else 100_000)
    return args


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # servers stopped on SIGTERM
    args = parse_args(argv)
    out = run(args)
    (OUT_DIR / f"{NAME}.json").write_text(json.dumps(out, indent=2) + "\n", "utf-8")
    print_table(out)
    print(result_line(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
