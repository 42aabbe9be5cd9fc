"""Freshness benchmark: a partner pushes events; seconds until the hot-spot tiles served show them.

Set-up (not timed), on the throw-away database ``GEOTRANQUIL_BENCH_FRESHNESS_DATABASE_URL``
(default ``geotranquil_bench_freshness``): the reference areas and the H3 grid, then a year of
background events (``--background``, uniform over the resolution-9 land cells, uniform in time
over the 52 weeks before the last Monday), ingested by the pipeline; then a **full refresh**
(``services.refresh.refresh_analyses``, forced: the hot-spot runs and the forecast), timed and
printed beside the result.

Measured: our server (``uvicorn``) and one ``geotranquil worker`` run with the default settings
(debounce ``refresh_debounce_s`` = 60 s unless ``--debounce``). The target cell, a land cell
near the middle of the city, is checked not to be a hot spot in the served tile. The clock
starts; a partner key bound to the source pushes ``--pushed`` events (canonical NDJSON,
``POST /sources/{source}/batches``): a cluster of ``--cluster`` events in the target cell over
the last four weeks, the rest spread like the background. The tile of the target at zoom 13
(``/collections/hotspots/tiles/WebMercatorQuad/13/{row}/{col}``, read as a client reads it,
decoded with mapbox-vector-tile) is polled every ``--poll`` seconds until the target's hexagon
is a hot spot at 99 % confidence (``gi_bin`` 3). The figure is that delay, push included.

The breakdown says where it went: upload answered, batch done (worker ingestion), refresh
started (the debounce), hot-spot runs stored, tile changed.

Usage, from the repository root::

    .venv/bin/python -m benchmarks.freshness              # 60 s debounce, 10,000 pushed
    .venv/bin/python -m benchmarks.freshness --smoke      # small, 3 s debounce

Ends with ``RESULT freshness seconds=... full_refresh_s=... ratio=seconds/goal goal=90 PASS|FAIL``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import mapbox_vector_tile
import numpy as np
from sqlalchemy import Engine, make_url, text

from benchmarks._servers import fresh_database, ours_server, terminate
from benchmarks.ingest_vs_copy import MAPPING_PATH
from geotranquil.config import Settings
from geotranquil.db.keys import create_key
from geotranquil.ingest.mapping import load_mapping
from geotranquil.services.geography import build_cells
from geotranquil.services.ingestion import ingest, known_categories
from geotranquil.services.refresh import refresh_analyses

NAME = "freshness"
GOAL_S = 90.0
ZOOM = 13
PARIS = ZoneInfo("Europe/Paris")
REPO = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("GEOTRANQUIL_BENCH_OUT", REPO / "benchmarks" / "out")) / NAME


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bench_database_url() -> str:
    return os.environ.get(
        "GEOTRANQUIL_BENCH_FRESHNESS_DATABASE_URL",
        "postgresql+psycopg://postgres@127.0.0.1:5432/geotranquil_bench_freshness",
    )


def last_monday() -> datetime:
    """Local midnight of the last Monday before today (the week before is whole)."""
    today = datetime.now(PARIS).date()
    monday = today - timedelta(days=today.weekday() or 7)
    return datetime(monday.year, monday.month, monday.day, tzinfo=PARIS)


def land_cells(engine: Engine) -> np.ndarray:
    """Resolution-9 land cells: rows (h3, lon, lat of the centroid), by id."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT h3, ST_X(p), ST_Y(p) FROM (SELECT h3, ST_Centroid(geom) p "
                "FROM grid_cells WHERE resolution = 9 AND land_share >= 0.999) c ORDER BY h3"
            )
        ).all()
    return np.array([(int(h), float(x), float(y)) for h, x, y in rows], dtype=object)


def spread(
    rng: np.random.Generator, cells: np.ndarray, n: int, end: datetime, weeks: int
) -> list[tuple[float, float, datetime]]:
    """``n`` events uniform over ``cells`` (near their centre) and over ``weeks`` before ``end``."""
    picks = rng.integers(0, len(cells), n)
    seconds = rng.uniform(60, weeks * 7 * 86400 - 60, n)
    jitter = rng.uniform(-0.0004, 0.0004, (n, 2))
    return [
        (
            float(cells[i][1]) + float(dx),
            float(cells[i][2]) + float(dy),
            end - timedelta(seconds=float(s)),
        )
        for i, s, (dx, dy) in zip(picks, seconds, jitter, strict=True)
    ]


def write_csv(path: Path, events: list[tuple[float, float, datetime]], prefix: str) -> None:
    """The background as a file of the benchmark's points mapping (``bench_points.toml``)."""
    with path.open("w", encoding="utf-8") as out:
        out.write("event_id,lon,lat,occurred_at,category\n")
        for i, (lon, lat, at) in enumerate(events):
            local = at.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")
            out.write(f"{prefix}{i},{lon:.6f},{lat:.6f},{local},vol\n")


def ndjson(events: list[tuple[float, float, datetime]], prefix: str) -> bytes:
    """The pushed events in the platform's canonical schema, one JSON object per line."""
    return "".join(
        json.dumps(
            {
                "id": f"{prefix}{i}",
                "occurred_at": at.isoformat(),
                "category": "vol",
                "lon": round(lon, 6),
                "lat": round(lat, 6),
            }
        )
        + "\n"
        for i, (lon, lat, at) in enumerate(events)
    ).encode()


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """(col, row) of the WebMercatorQuad tile holding the point."""
    n = 2**z
    col = int((lon + 180) / 360 * n)
    row = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return col, row


def hot_bin(http: httpx.Client, hex_id: str, col: int, row: int) -> int | None:
    """``gi_bin`` of the target's hexagon in the served hot-spot tile (None: not in it)."""
    answer = http.get(f"/collections/hotspots/tiles/WebMercatorQuad/{ZOOM}/{row}/{col}")
    if answer.status_code == 204 or not answer.content:
        return None
    answer.raise_for_status()
    for layer in mapbox_vector_tile.decode(answer.content).values():
        for feature in layer["features"]:
            if feature["properties"].get("hex_id") == hex_id:
                return int(feature["properties"]["gi_bin"])
    return None


@dataclass
class Timeline:
    pushed: float = math.nan
    batch_done: float = math.nan
    refresh_started: float = math.nan
    tile_hot: float = math.nan


def refresh_rows(engine: Engine) -> list[tuple[int, str, datetime, datetime | None]]:
    with engine.connect() as conn:
        return [
            (int(i), str(s), a, b)
            for i, s, a, b in conn.execute(
                text(
                    "SELECT id, status, started_at, finished_at FROM analysis_refreshes ORDER BY id"
                )
            )
        ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--background", type=int, default=40_000)
    parser.add_argument("--pushed", type=int, default=10_000)
    parser.add_argument("--cluster", type=int, default=400)
    parser.add_argument("--debounce", type=float, default=None, help="default: the setting's")
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--smoke", action="store_true", help="8,000 + 2,000 events, debounce 3 s")
    args = parser.parse_args(argv)
    if args.smoke:
        args.background, args.pushed, args.cluster = 8_000, 2_000, 150
        args.debounce = 3.0 if args.debounce is None else args.debounce
    url = bench_database_url()
    OUT.mkdir(parents=True, exist_ok=True)
    defaults = Settings(database_url=url, data_dir=OUT / "data")
    debounce = defaults.refresh_debounce_s if args.debounce is None else args.debounce
    rng = np.random.default_rng(args.seed)

    _log(f"fresh database {make_url(url).database}: areas, grid")
    engine = fresh_database(url)
    worker: subprocess.Popen[bytes] | None = None
    server = None
    try:
        build_cells(engine, [7, 8, 9, 10])
        settings = defaults.model_copy(update={"refresh_debounce_s": debounce})
        cells = land_cells(engine)
        end = last_monday()
        background = OUT / "background.csv"
        write_csv(background, spread(rng, cells, args.background, end, 52), "fond-")
        mapping = load_mapping(MAPPING_PATH, known_categories(settings))
        summary = ingest(settings, background, mapping)
        _log(f"background: {summary.inserted:,} events ingested")
        started = time.perf_counter()
        full = refresh_analyses(engine, settings, trigger="manual", force=True)
        full_refresh_s = time.perf_counter() - started
        _log(f"full refresh {full.refresh_id}: {full_refresh_s:.1f} s, runs {full.runs}")

        target = cells[len(cells) // 2]
        hex_id = f"{int(target[0]):x}"
        col, row = tile_of(float(target[1]), float(target[2]), ZOOM)
        with engine.begin() as conn:
            source_id = conn.execute(
                text("SELECT id FROM sources WHERE slug = :s"), {"s": mapping.slug}
            ).scalar_one()
            partner, _ = create_key(
                conn=conn, name="bench partner", role="partner", source_id=source_id
            )
            analyst, _ = create_key(conn=conn, name="bench analyst", role="analyst")

        env = {
            "GEOTRANQUIL_DATABASE_URL": url,
            "GEOTRANQUIL_DATA_DIR": str(settings.data_dir),
            "GEOTRANQUIL_REFRESH_DEBOUNCE_S": str(debounce),
        }
        server = ours_server("freshness-server", url, OUT, env)
        server.start()
        worker_log = (OUT / "worker.log").open("wb")
        worker = subprocess.Popen(
            [sys.executable, "-m", "geotranquil.cli.main", "worker"],
            env={**os.environ, **env},
            cwd=REPO,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{server.port}"
        with (
            httpx.Client(base_url=base, timeout=120, headers={"X-API-Key": analyst}) as http,
            httpx.Client(base_url=base, timeout=300, headers={"X-API-Key": partner}) as push,
        ):
            before = hot_bin(http, hex_id, col, row)
            if before == 3:
                raise SystemExit(f"the target {hex_id} is a hot spot before the push")
            hours = np.linspace(1, 4 * 7 * 24 - 1, args.cluster)
            cluster = [
                (float(target[1]), float(target[2]), end - timedelta(hours=float(h))) for h in hours
            ]
            rest = spread(rng, cells, args.pushed - args.cluster, end, 52)
            body = ndjson(cluster + rest, "lot-")
            times = Timeline()
            t0 = time.perf_counter()
            answer = push.post(
                f"/sources/{mapping.slug}/batches",
                content=body,
                headers={"Content-Type": "application/x-ndjson", "Idempotency-Key": "freshness"},
            )
            if answer.status_code != 202:
                raise SystemExit(f"push refused: {answer.status_code} {answer.text}")
            times.pushed = time.perf_counter() - t0
            location = answer.headers["Location"]
            refreshes_before = len(refresh_rows(engine))
            while time.perf_counter() - t0 < args.timeout:
                now = time.perf_counter() - t0
                if math.isnan(times.batch_done):
                    state = push.get(location).json()["state"]
                    if state == "failed":
                        raise SystemExit(f"the pushed batch failed: {push.get(location).text}")
                    if state == "done":
                        times.batch_done = now
                if math.isnan(times.refresh_started) and len(refresh_rows(engine)) > (
                    refreshes_before
                ):
                    times.refresh_started = now
                if hot_bin(http, hex_id, col, row) == 3:
                    times.tile_hot = time.perf_counter() - t0
                    break
                time.sleep(args.poll)
    finally:
        terminate(worker)
        if server is not None:
            server.stop()
        engine.dispose()

    seconds = times.tile_hot
    ok = not math.isnan(seconds) and seconds <= GOAL_S
    print(
        f"pushed {args.pushed:,} events ({args.cluster} in {hex_id}) on {args.background:,} in "
        f"the background; debounce {debounce:g} s\n"
        f"  upload answered   {times.pushed:7.1f} s\n"
        f"  batch done        {times.batch_done:7.1f} s\n"
        f"  refresh started   {times.refresh_started:7.1f} s\n"
        f"  tile shows it     {seconds:7.1f} s\n"
        f"full refresh (hot-spot runs and forecast, forced): {full_refresh_s:.1f} s"
    )
    ratio = seconds / GOAL_S if not math.isnan(seconds) else math.inf
    print(
        f"RESULT {NAME} seconds={seconds:.1f} debounce_s={debounce:g} "
        f"full_refresh_s={full_refresh_s:.1f} pushed={args.pushed} ratio={ratio:.3f} "
        f"goal={GOAL_S:g} {'PASS' if ok else 'FAIL'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
