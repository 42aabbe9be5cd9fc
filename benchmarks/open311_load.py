"""Open311 load: residents' reports with 1 MB photos at a steady rate, over loopback.

    .venv/bin/python -m benchmarks.open311_load            # 50 reports/s for 60 s, 1 MB photos
    .venv/bin/python -m benchmarks.open311_load --smoke    # 10 reports/s for 3 s, small photos

Our server (``uvicorn --workers 2``, a subprocess; ``--workers N`` to change) on its own database
(``GEOTRANQUIL_BENCH_DATABASE_URL``, default ``geotranquil_bench_open311`` on the test server,
rebuilt each run: areas loaded, no events). The client sends ``POST /open311/v2/requests.json``
(multipart, a JPEG carrying GPS EXIF) on an open-loop schedule (report *i* leaves at ``i / rate``
seconds whatever the latency of the others), from a bounded pool of threads sharing one HTTP
client (built before the clock starts). Then it checks that every accepted report is stored
exactly once (with its event and its photo, which must carry no EXIF) and that no answer was a
5xx. There is no peer to compare with: the goal is the p95 latency (``--goal-ms``, 1,000 ms),
and the RESULT line's ratio is p95 / goal (PASS needs <= 1, all reports stored exactly once, no
5xx, and the achieved rate within 5 % of the target).

Each report carries an ``Idempotency-Key`` and is sent again (at most twice, with the same key)
when its connection drops before the answer, as the residents' app does; the retries are
counted, the latency of such a report includes them, and "stored exactly once" is still
required.

Why two workers: one uvicorn process tops out at about one core (its event loop and its
threadpool share one interpreter lock; decoding and re-encoding a photo is the only part that
runs beside it), and a report costs about 21 ms of server CPU; more workers would only compete
for the two cores with PostgreSQL and the client. The database side was the other limit: the
photo is now written before the locks shared between reports, and stored ``EXTERNAL`` (see
``services.open311.file_request`` and migration 0010); before that, one and two workers both
stopped near 40 to 43/s. The rate limits are per worker process (in-memory token buckets): the
environment below raises them far above what one run sends, so no report is refused whichever
worker takes it. The JSON keeps the server, client and PostgreSQL CPU, the machine's load and
the p95 by 10 s window, to tell a slow server from a busy machine.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from benchmarks import _servers
from geotranquil.config import Settings
from geotranquil.db.engine import make_engine
from geotranquil.services.photo_store import PhotoStore

NAME = "open311_load"
RETRIES = 2  # attempts after the first when a connection drops (same Idempotency-Key)
OUT_DIR = Path(os.environ.get("GEOTRANQUIL_BENCH_OUT", "var/benchmarks"))
DEFAULT_URL = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/geotranquil_bench_open311"
SERVICES = ("depot_sauvage", "nuisance_sonore", "tag_graffiti", "voirie_degradee")
CENTRE = (5.4050, 43.3000)  # eastern central Marseille, well inside the commune (no sea)


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def photo(target_bytes: int, seed: int) -> bytes:
    """A JPEG of about ``target_bytes`` (noise compresses badly), with GPS EXIF."""
    rng = np.random.default_rng(seed)
    side = 64
    exif = Image.Exif()
    exif[0x010F] = "BenchCamera"
    exif[0x8825] = {1: "N", 2: (43.0, 17.0, 42.0), 3: "E", 4: (5.0, 22.0, 11.0)}
    while True:
        pixels = rng.integers(0, 255, size=(side, side, 3), dtype=np.uint8)
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, format="JPEG", quality=92, exif=exif)
        if out.tell() >= target_bytes:
            return out.getvalue()
        side = int(side * 1.25) + 8


def prepare(database_url: str) -> None:
    """A fresh database with the schema and the areas (reports need the commune outline)."""
    _servers.fresh_database(database_url).dispose()


def create_key(database_url: str) -> str:
    from geotranquil.services.access import create_key as new_key

    engine = make_engine(Settings(database_url=database_url))
    try:
        key, _ = new_key(engine=engine, name="benchmark open311", role="partner")
        return key
    finally:
        engine.dispose()


def tree_cpu_seconds(pid: int) -> float:
    """CPU time so far of a process and of all its live descendants (uvicorn's workers)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text("ascii").rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += _servers.process_cpu_seconds(current)
        todo.extend(parents.get(current, []))
    return total


def postmaster_pid(database_url: str) -> int | None:
    """The PostgreSQL server's process when it runs on this machine (its backends' parent)."""
    from sqlalchemy import text

    engine = make_engine(Settings(database_url=database_url))
    try:
        with engine.connect() as conn:
            backend = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    finally:
        engine.dispose()
    try:
        with open(f"/proc/{backend}/stat", encoding="ascii") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except OSError:  # a remote server
        return None


def postgres_cpu_seconds(pid: int | None) -> float:
    """CPU time of the PostgreSQL server: its live processes and its ended backends."""
    if pid is None:
        return float("nan")
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    ended = (int(fields[13]) + int(fields[14])) / _servers.CLOCK_TICKS  # cutime + cstime
    return tree_cpu_seconds(pid) + ended


def machine_cpu() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine so far (``/proc/stat``, all cores)."""
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / _servers.CLOCK_TICKS, sum(ticks) / _servers.CLOCK_TICKS


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def run(args: argparse.Namespace) -> dict[str, Any]:
    database_url = os.environ.get("GEOTRANQUIL_BENCH_DATABASE_URL", DEFAULT_URL)
    _log(f"preparing {database_url.rsplit('/', 1)[-1]}")
    prepare(database_url)
    photo_root = OUT_DIR / f"{NAME}_photos"  # the server's photo files, gone with the database
    shutil.rmtree(photo_root, ignore_errors=True)
    key = create_key(database_url)
    postgres = postmaster_pid(database_url)
    photos = [photo(args.photo_bytes, seed) for seed in range(4)]
    _log(f"photos: {', '.join(f'{len(p) / 1e6:.2f} MB' for p in photos)}")
    total = round(args.rate * args.seconds)
    marker = f"bench-{uuid.uuid4().hex[:8]}"
    server = _servers.ours_server(
        "ours",
        database_url,
        OUT_DIR / f"{NAME}_logs",
        {
            "GEOTRANQUIL_OPEN311_RATE_KEY_PER_MINUTE": "1000000",
            "GEOTRANQUIL_OPEN311_RATE_KEY_BURST": "100000",
            "GEOTRANQUIL_OPEN311_RATE_CLIENT_PER_MINUTE": "1000000",
            "GEOTRANQUIL_OPEN311_RATE_CLIENT_BURST": "100000",
            "GEOTRANQUIL_OPEN311_PHOTO_DIR": str(photo_root.resolve()),
        },
        workers=args.workers,
    )
    rng = random.Random(7)
    points = [
        (CENTRE[0] + rng.uniform(-0.015, 0.015), CENTRE[1] + rng.uniform(-0.012, 0.012))
        for _ in range(total)
    ]
    latencies: list[float] = []
    windows: dict[int, list[float]] = {}  # latencies by 10 s window of the schedule
    statuses: dict[int, int] = {}
    accepted: dict[str, str] = {}
    failures: list[str] = []
    retried: list[str] = []  # attempts whose answer was lost and were sent again
    lock = threading.Lock()
    # one client shared by the threads (httpx's pool is thread-safe), built before the clock
    # starts: an ``httpx.Client`` costs about 20 ms of CPU to build (its TLS context), which a
    # client per thread used to charge to the first report of each of the 64 threads
    client = httpx.Client(
        base_url=server.base_url,
        timeout=60,
        limits=httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients),
    )

    def submit(i: int, due: float) -> None:
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        lon, lat = points[i]
        description = f"{marker}-{i:06d}"
        started = time.perf_counter()
        r = None
        status = 0
        # as the residents' app does: the same Idempotency-Key on every attempt, so a report
        # whose answer was lost (a keep-alive connection closed under it) is retried safely
        for attempt in range(1 + RETRIES):
            try:
                r = client.post(
                    "/open311/v2/requests.json",
                    data={
                        "api_key": key,
                        "service_code": SERVICES[i % len(SERVICES)],
                        "lat": f"{lat:.6f}",
                        "long": f"{lon:.6f}",
                        "description": description,
                        "email": f"resident{i}@example.org",
                    },
                    files={"media": ("photo.jpg", photos[i % len(photos)], "image/jpeg")},
                    headers={"Idempotency-Key": f"{marker}-{i:06d}"},
                )
                status = r.status_code
                break
            except httpx.TransportError as exc:
                with lock:
                    if attempt < RETRIES:
                        retried.append(f"{i}: {type(exc).__name__}")
                    else:
                        failures.append(f"{i}: {type(exc).__name__}")
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            statuses[status] = statuses.get(status, 0) + 1
            latencies.append(elapsed)
            windows.setdefault(int(i / args.rate // 10), []).append(elapsed)
            if r is not None and status == 201:
                accepted[description] = r.json()[0]["service_request_id"]
            elif r is not None and len(failures) < 20:
                failures.append(f"{i}: {status} {r.text[:200]}")

    _log(f"server starting; then {total} reports at {args.rate:g}/s for {args.seconds:g} s")
    server.start()
    try:
        server_cpu0, client_cpu0 = tree_cpu_seconds(server.pid), time.process_time()
        machine0, postgres_cpu0 = machine_cpu(), postgres_cpu_seconds(postgres)
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            t0 = time.perf_counter() + 0.5
            futures = [pool.submit(submit, i, t0 + i / args.rate) for i in range(total)]
            for f in futures:
                f.result()
            wall = time.perf_counter() - t0
        cpu = tree_cpu_seconds(server.pid) - server_cpu0
        client_cpu = time.process_time() - client_cpu0
        machine1 = machine_cpu()
        postgres_cpu = postgres_cpu_seconds(postgres) - postgres_cpu0
        machine_busy = 100 * (machine1[0] - machine0[0]) / max(machine1[1] - machine0[1], 1e-9)
    finally:
        client.close()
        server.stop()

    engine = make_engine(Settings(database_url=database_url))
    from sqlalchemy import text

    with engine.connect() as conn:
        stored = {
            str(d): int(n)
            for d, n in conn.execute(
                text(
                    "SELECT r.description, count(*) FROM service_requests r "
                    "JOIN events e ON e.id = r.event_id "
                    "JOIN service_request_media m ON m.request_id = r.id "
                    "WHERE r.description LIKE :m GROUP BY r.description"
                ),
                {"m": f"{marker}-%"},
            )
        }
        sample = conn.execute(  # the photos are files the rows name (or, before, bytes)
            text("SELECT content, file FROM service_request_media ORDER BY random() LIMIT 5")
        ).all()
        store = PhotoStore(photo_root)
        photos = [bytes(c) if c is not None else store.read(f) for c, f in sample]
        exif_free = len(photos) == 5 and all(
            not dict(Image.open(io.BytesIO(p)).getexif()) and b"BenchCamera" not in p
            for p in photos
        )
    engine.dispose()
    once = sum(1 for d in accepted if stored.get(d) == 1)
    extra = sum(n - 1 for n in stored.values() if n > 1) + len(set(stored) - set(accepted))
    server_errors = sum(n for s, n in statuses.items() if s >= 500 or s == 0)
    p50, p95, p99 = (percentile(latencies, q) for q in (50, 95, 99))
    achieved = total / wall if wall > 0 else 0.0
    ok = (
        once == total
        and extra == 0
        and server_errors == 0
        and exif_free
        and p95 <= args.goal_ms
        and achieved >= 0.95 * args.rate
    )
    return {
        "sent": total,
        "accepted": len(accepted),
        "stored_once": once,
        "stored_extra": extra,
        "statuses": statuses,
        "server_errors": server_errors,
        "exif_free": exif_free,
        "p50_ms": p50,
        "p95_ms": p95,
        "p99_ms": p99,
        "max_ms": max(latencies) if latencies else float("nan"),
        "p95_ms_by_10s": [round(percentile(windows[w], 95), 1) for w in sorted(windows)],
        "target_rate": args.rate,
        "achieved_rate": achieved,
        "photo_bytes": [len(p) for p in photos],
        "server_workers": args.workers,
        "server_cpu_s": cpu,
        "client_cpu_s": client_cpu,
        "postgres_cpu_s": postgres_cpu,  # all its sessions, not only ours
        # the machine's CPU use during the load (all processes: ours, PostgreSQL, others)
        "machine_busy_pct": machine_busy,
        "cores": os.cpu_count(),
        "goal_ms": args.goal_ms,
        "pass": ok,
        "retries": len(retried),
        "retried": retried[:20],
        "failures": failures[:20],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="10/s for 3 s with 100 kB photos")
    parser.add_argument("--rate", type=float, help="reports per second (50)")
    parser.add_argument("--seconds", type=float, help="duration (60)")
    parser.add_argument("--photo-bytes", type=int, help="photo size (1,000,000)")
    parser.add_argument("--clients", type=int, default=64, help="client threads (64)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (2)")
    parser.add_argument("--goal-ms", type=float, default=1000.0, help="p95 goal (1,000 ms)")
    args = parser.parse_args(argv)
    args.rate = args.rate or (10.0 if args.smoke else 50.0)
    args.seconds = args.seconds or (3.0 if args.smoke else 60.0)
    args.photo_bytes = args.photo_bytes or (100_000 if args.smoke else 1_000_000)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = run(args)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / f"{NAME}.json").write_text(json.dumps(out, indent=2) + "\n", "utf-8")
    print(f"{'sent':>22} {out['sent']}")
    print(f"{'accepted (201)':>22} {out['accepted']}")
    print(f"{'stored exactly once':>22} {out['stored_once']}  (extra rows: {out['stored_extra']})")
    print(f"{'statuses':>22} {out['statuses']}")
    print(f"{'photos without EXIF':>22} {out['exif_free']}")
    print(f"{'rate target/achieved':>22} {out['target_rate']:.1f} / {out['achieved_rate']:.1f} /s")
    print(
        f"{'latency ms':>22} p50 {out['p50_ms']:.0f}  p95 {out['p95_ms']:.0f}  "
        f"p99 {out['p99_ms']:.0f}  max {out['max_ms']:.0f}"
    )
    print(f"{'p95 ms by 10 s':>22} {' '.join(f'{v:.0f}' for v in out['p95_ms_by_10s'])}")
    print(
        f"{'CPU during the load':>22} server {out['server_cpu_s']:.1f} s "
        f"({out['server_workers']} worker(s)), client {out['client_cpu_s']:.1f} s, "
        f"PostgreSQL {out['postgres_cpu_s']:.1f} s; "
        f"machine {out['machine_busy_pct']:.0f} % busy on {out['cores']} cores"
    )
    if out["retries"]:
        print(f"{'retried (same key)':>22} {out['retries']}: {', '.join(out['retried'])}")
    for failure in out["failures"]:
        print(f"  failure {failure}")
    print(
        f"RESULT {NAME} p95_ms={out['p95_ms']:.1f} rate_per_s={out['achieved_rate']:.1f} "
        f"stored_once={out['stored_once']} sent={out['sent']} errors_5xx={out['server_errors']} "
        f"retries={out['retries']} "
        f"ratio={out['p95_ms'] / out['goal_ms']:.3f} goal={out['goal_ms']:.0f} "
        f"{'PASS' if out['pass'] else 'FAIL'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
