"""Serving with several workers: 1, 2 and 4 uvicorn processes behind nginx, same data, same run.

What it shows: whether the platform scales with its worker processes now that their shared
state (rate limits, tile cache, API keys) lives in Redis. The peer is the platform itself with
one worker; goal: 4 workers serve at least 1.8 times as many requests per second as one on
these 2-core machines (the cores are printed: on one core no goal can hold).

Data: the serving benchmark's database (:mod:`benchmarks.serving_vs_tipg`:
``geotranquil_bench_serving``, N synthetic events and a Gi* run, reused when it already holds
them; ``GEOTRANQUIL_BENCH_SERVING_DATABASE_URL`` names another). Servers: N processes of our
application (:func:`benchmarks._servers.ours_server`, one uvicorn worker each) behind Debian's
nginx (:mod:`benchmarks._nginx`, round robin, keep-alive to the workers), each configuration
with its own Redis key prefix so that it starts cold.

Measures, for 1, 2 and 4 workers, each after a warm-up pass over its list:

1. cached tiles per second: the hot-spot and event tiles of :func:`serving_vs_tipg.tile_list`
   (analyst key), tile caches on (process LRU and Redis): after the warm-up every tile is a hit;
2. uncached tiles per second: the same tiles with both caches off
   (``GEOTRANQUIL_TILE_CACHE_ENTRIES=0``, ``GEOTRANQUIL_TILE_CACHE_TTL_S=0``): every tile is
   cut by PostGIS;
3. items pages per second: ``/collections/events/items?limit=1000&bbox=...`` on the 16 boxes of
   :func:`serving_vs_tipg.item_boxes`.

Load: after a warm-up pass with the Python client (every answer checked: 200, or 204 for an
empty tile), ``--rounds`` rounds of ``wrk`` (:mod:`benchmarks._wrk`; Debian's ``wrk``, C, one
thread, ``--connections`` keep-alive connections, default 16) for ``--seconds`` each, cycling
through the list; the rate is the median of the rounds. A Python client on these 2 cores costs
more CPU per request than a cached tile costs the server and would measure itself
(``--python-client`` shows it). The CPU the workers and PostgreSQL used per request and the
answers that were not 2xx are printed beside each rate.

Usage, from the repository root::

    .venv/bin/python -m benchmarks.serving_workers            # 1,000,000 events, 5 rounds
    .venv/bin/python -m benchmarks.serving_workers --smoke    # 20,000 events, 1 round

Ends with one RESULT line per measure and ``RESULT serving_workers ... ratio=<the smallest of
the three 4-worker / 1-worker ratios> goal=1.8 PASS|FAIL``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import _wrk
from benchmarks import serving_vs_tipg as base
from benchmarks._nginx import NGINX, workers_behind_nginx
from geotranquil.db.engine import psycopg_dsn

NAME = "serving_workers"
GOAL = 1.8
WORKER_COUNTS = (1, 2, 4)
MEASURES = ("cached_tiles", "uncached_tiles", "items")
OUT_DIR = Path(os.environ.get("GEOTRANQUIL_BENCH_OUT", base.BENCH_DIR / "out"))
#: no read limit gets in the way of the benchmark's clients (staff key anyway)
ENV = {"GEOTRANQUIL_READ_RATE_PER_MINUTE": "1000000000", "GEOTRANQUIL_READ_RATE_BURST": "1000000"}


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def cores() -> tuple[int, int]:
    """(CPUs of the machine, CPUs this process may use)."""
    return os.cpu_count() or 1, len(os.sched_getaffinity(0))


@dataclass
class Measured:
    """One measure of one configuration: its rates and what they cost."""

    requests: int  # per pass (the list's length)
    rates: list[float] = field(default_factory=list)  # requests per second, per round
    timed_requests: int = 0
    worker_cpu: float = 0.0
    pg_cpu: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)  # warm-up pass
    errors: int = 0  # timed answers that were not 2xx

    @property
    def per_s(self) -> float:
        return statistics.median(self.rates) if self.rates else 0.0

    def cpu_ms(self, which: str) -> float:
        n = self.timed_requests
        return 1000 * getattr(self, which) / n if n else 0.0


def measure(
    client: base.Client,
    side: base.Side,
    urls: list[str],
    backends: base.Backends,
    args: argparse.Namespace,
    workdir: Path,
) -> Measured:
    """Warm-up pass (the Python client: every status checked), then the timed rounds: wrk for
    ``--seconds`` each (or passes of the Python client with ``--python-client``)."""
    warm = base.Cell(len(urls))
    base.warm_up(client, side, urls, warm, lambda _body: 0, 0)
    out = Measured(len(urls), statuses=warm.statuses)
    front = side.server
    for _ in range(args.rounds):
        cpu0, pg0 = front.cpu_seconds(), backends.snapshot()
        if args.python_client:
            wall, _answers = client.run(urls, side.headers)
            out.rates.append(len(urls) / wall)
            out.timed_requests += len(urls)
        else:
            done = _wrk.run_wrk(urls, side.headers, args.seconds, args.connections, 1, workdir)
            out.rates.append(done.per_s)
            out.timed_requests += done.requests
            out.errors += done.errors
        out.worker_cpu += front.cpu_seconds() - cpu0
        out.pg_cpu += base.Backends.delta(pg0, backends.snapshot())
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    if not Path(NGINX).is_file():
        raise SystemExit(f"{NGINX} missing: scripts/setup.sh installs Debian's nginx")
    if not args.python_client and _wrk.WRK is None:
        raise SystemExit("wrk missing: scripts/setup.sh installs Debian's wrk (or --python-client)")
    database_url = base.bench_database_url()
    dsn = psycopg_dsn(database_url)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    data = base.prepare_data(database_url, args.events, args.seed, args.rebuild)
    keys = base.create_keys(database_url)
    tiles = base.tile_list(dsn, args.tiles_per_zoom, args.seed)
    boxes = base.item_boxes()
    analyst = {"X-API-Key": keys["analyst"]}
    log_dir = OUT_DIR / f"{NAME}_logs"
    client = base.Client(args.clients)
    backends = base.Backends(dsn)
    cells: dict[str, dict[int, Measured]] = {m: {} for m in MEASURES}
    started = time.perf_counter()
    try:
        for workers in WORKER_COUNTS:
            for cached in (True, False):
                env = {
                    **ENV,
                    **({} if cached else base.NO_TILE_CACHE),
                    "GEOTRANQUIL_REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:10]}",
                }
                label = f"{'cached' if cached else 'uncached'}{workers}w"
                _log(f"{label}: starting {workers} worker(s) behind nginx")
                with workers_behind_nginx(workers, database_url, log_dir, env, label) as front:
                    side = base.Side(base.OURS, front, analyst)  # type: ignore[arg-type]
                    tile_urls = [
                        side.tile_url(layer, z, x, y)
                        for layer in base.LAYERS
                        for z in base.ZOOMS
                        for x, y in tiles[z]
                    ]
                    measured = "cached_tiles" if cached else "uncached_tiles"
                    cells[measured][workers] = measure(
                        client, side, tile_urls, backends, args, log_dir / label
                    )
                    if cached:  # items pages are never cached: measured once per count
                        item_urls = [side.items_url(b) for b in boxes]
                        cells["items"][workers] = measure(
                            client, side, item_urls, backends, args, log_dir / label
                        )
    finally:
        client.close()
        backends.close()
    return {
        "data": data.__dict__,
        "cores": cores(),
        "clients": args.clients,
        "load": "python" if args.python_client else "wrk",
        "connections": args.connections,
        "seconds_per_round": args.seconds,
        "rounds": args.rounds,
        "tiles": sum(len(t) for t in tiles.values()) * len(base.LAYERS),
        "item_boxes": len(boxes),
        "cells": cells,
        "seconds": time.perf_counter() - started,
        "load_average": list(os.getloadavg()),
    }


def ceiling(cells: dict[int, Measured], usable_cores: int) -> float:
    """The best N-worker / 1-worker ratio these cores allow, from what one request cost with
    one worker: one worker is bound by its one core (its interpreter), N workers by all the
    cores shared with PostgreSQL (nginx and wrk not counted), so the ratio cannot exceed
    ``cores x worker CPU / (worker CPU + PostgreSQL CPU)``."""
    one = cells[1]
    worker, pg = one.cpu_ms("worker_cpu"), one.cpu_ms("pg_cpu")
    return usable_cores * worker / (worker + pg) if worker + pg > 0 else 0.0


def ratio(cells: dict[int, Measured]) -> float:
    one = cells[1].per_s
    return cells[max(WORKER_COUNTS)].per_s / one if one > 0 else 0.0


def result_lines(out: dict[str, Any]) -> list[str]:
    lines = []
    ratios = []
    for measure_name in MEASURES:
        cells = out["cells"][measure_name]
        r = ratio(cells)
        ratios.append(r)
        rates = " ".join(f"w{n}_per_s={cells[n].per_s:.1f}" for n in WORKER_COUNTS)
        lines.append(
            f"RESULT {NAME}_{measure_name} {rates} ratio={r:.3f} goal={GOAL:g} "
            f"{'PASS' if r >= GOAL else 'FAIL'}"
        )
    worst = min(ratios)
    lines.append(
        f"RESULT {NAME} cores={out['cores'][1]} "
        + " ".join(f"{m}_ratio={r:.3f}" for m, r in zip(MEASURES, ratios, strict=True))
        + f" ratio={worst:.3f} goal={GOAL:g} {'PASS' if worst >= GOAL else 'FAIL'}"
    )
    return lines


def print_table(out: dict[str, Any]) -> None:
    machine, usable = out["cores"]
    data = out["data"]
    print()
    print(f"cores: {machine} on the machine, {usable} usable by this run")
    if out["load"] == "wrk":
        load = (
            f"wrk, {out['connections']} keep-alive connections, {out['rounds']} round(s) of "
            f"{out['seconds_per_round']:g} s"
        )
    else:
        load = f"{out['clients']} Python client threads, {out['rounds']} pass(es) over each list"
    print(
        f"{data['events']:,} events; {out['tiles']} tiles (hot spots and events, zoom 12-15), "
        f"{out['item_boxes']} items pages of 1,000; N uvicorn processes behind nginx"
    )
    print(f"load: {load}, after a warm-up pass (Python client) over each list")
    print()
    head = (
        f"{'measure':<16}{'workers':>8}{'req/s':>9}{'ms/req':>8}{'x 1 worker':>11}"
        f"{'worker cpu ms':>14}{'pg cpu ms':>10}{'errors':>7}  warm-up statuses"
    )
    print(head)
    print("-" * len(head))
    for measure_name in MEASURES:
        cells = out["cells"][measure_name]
        one = cells[1].per_s
        print(
            f"{measure_name}: at most {ceiling(cells, usable):.2f}x one worker on {usable} "
            "cores (one worker's own core against all of them, shared with PostgreSQL)"
        )
        for n in WORKER_COUNTS:
            c = cells[n]
            print(
                f"{measure_name:<16}{n:>8}{c.per_s:>9.1f}"
                f"{1000 / c.per_s if c.per_s else 0:>8.2f}"
                f"{c.per_s / one if one else 0:>11.2f}"
                f"{c.cpu_ms('worker_cpu'):>14.2f}{c.cpu_ms('pg_cpu'):>10.2f}{c.errors:>7}"
                f"  {dict(sorted(c.statuses.items()))}"
            )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m benchmarks.{NAME}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=None, help="events (default 1,000,000)")
    parser.add_argument("--smoke", action="store_true", help="20,000 events, 1 round")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (default 5)")
    parser.add_argument("--clients", type=int, default=8, help="Python client threads (default 8)")
    parser.add_argument(
        "--python-client",
        action="store_true",
        help="time with the Python client instead of wrk (it costs more CPU than the servers)",
    )
    parser.add_argument(
        "--seconds", type=float, default=None, help="seconds of wrk per round (default 10)"
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument(
        "--tiles-per-zoom", type=int, default=None, help="tiles at zoom 14 and 15 (default 40)"
    )
    parser.add_argument("--seed", type=int, default=base.SEED)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the bench database")
    args = parser.parse_args(argv)
    args.events = args.events or (base.SMOKE_EVENTS if args.smoke else base.DEFAULT_EVENTS)
    args.rounds = args.rounds or (1 if args.smoke else 5)
    args.seconds = args.seconds or (1.0 if args.smoke else 10.0)
    args.tiles_per_zoom = args.tiles_per_zoom or (6 if args.smoke else 40)
    return args


def main(argv: list[str] | None = None) -> int:
    return base.run_and_report(
        parse_args(argv), run, OUT_DIR / f"{NAME}.json", print_table, result_lines
    )


if __name__ == "__main__":
    sys.exit(main())
