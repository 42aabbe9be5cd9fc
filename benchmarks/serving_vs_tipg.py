"""Serving benchmark: our FastAPI server against tipg on the same PostGIS tables, same run.

Peer: tipg (developmentseed), in its own environment ``.venv-tipg`` (created if missing, see
:mod:`benchmarks._servers`), on the same database as ours. Both servers are ``uvicorn`` with
``--workers 1`` (asyncio loop, h11, no access log), started side by side as subprocesses on
free ports and stopped at the end. Both are asked for gzip (``Accept-Encoding: gzip``; ours
compresses with Starlette's ``GZipMiddleware``, tipg with starlette-cramjam) and the
``Content-Encoding`` of the answers is checked.

Data (throw-away database ``geotranquil_bench_serving``, reused when it already holds the same
events on the same geography; ``--rebuild`` forces it): the official areas and the H3 grid
(resolutions 7 to 10), N synthetic events (default 1,000,000;
:func:`geotranquil.synth.generate_points`, two years, denser in the centre) written with one
``COPY`` into ``events``, one Gi* run at resolution 10 on all of them, ``VACUUM ANALYZE``. The
hot-spot layer that tipg serves is the view ``public.bench_hotspots``: the very source SQL of
our ``hotspots`` collection (the latest Gi* run joined to ``grid_cells``) with its bound values
written in.

Measures, each after a warm-up pass over the whole list on every server (so that PostgreSQL's
cache is warm on both sides and our tile cache, when on, is full):

1. Vector tiles per second over a fixed list of Marseille tiles at zoom 12 to 15 (all tiles
   touching the commune at 12 and 13, a seeded sample of ``--tiles-per-zoom`` at 14 and 15),
   for the hot-spot hexagons (ours ``/collections/hotspots/tiles/WebMercatorQuad/{z}/{y}/{x}``,
   tipg ``/collections/public.bench_hotspots/tiles/WebMercatorQuad/{z}/{x}/{y}``) and for the
   events (ours ``/collections/events/...``, analyst key; tipg ``public.events`` with
   ``properties=`` the columns our point tiles carry). NOT like for like below zoom 14: ours
   draws the events as hexagon counts there (resolution 9), as the product requires, while
   tipg draws up to 10,000 raw points (its cap); the table reports each zoom. Ours runs twice,
   with its tile caches (the defaults: process LRU ``GEOTRANQUIL_TILE_CACHE_ENTRIES=4096``, and
   Redis ``GEOTRANQUIL_TILE_CACHE_TTL_S=3600``) and without (both ``=0``). Goal: at least 2
   times tipg's throughput.
2. Items pages per second: ``/items?limit=1000&bbox=...`` on 16 boxes in the centre of
   Marseille (lon 5.37-5.40, lat 43.28-43.31), each holding at least 1,000 events at full
   size. tipg is given ``properties=`` our items' columns that exist in ``events``. Goal: at
   least 2 times tipg's.
3. Polygon report for the quartier with the most events over the last year of data: the median
   time of ``POST /reports`` (planner key) against the same statement
   (:func:`geotranquil.db.reports.report_sql`, bound by
   :func:`geotranquil.services.reports.prepare_report`) run as one bare SQL statement through
   psycopg, alternately, ``--report-runs`` times each after warm-up. Goal: endpoint / SQL < 1.3.

Throughput: ``--clients`` threads (default 4), each with its own keep-alive ``httpx.Client``,
share each list; the timed passes read the raw (compressed) bodies without decoding them. Every
round runs each server in turn (order rotated), every zoom of every layer; a rate is the list
length over the median of the rounds' wall times. The CPU time that the server process and its
PostgreSQL backends used during the timed passes (``/proc``) is reported per request: it shows
where the time goes. ``--profile`` (on by default) also times our bare tile SQL (``ST_AsMVT``),
one connection, for the same tiles.

Usage, from the repository root::

    .venv/bin/python -m benchmarks.serving_vs_tipg                 # 1,000,000 events
    .venv/bin/python -m benchmarks.serving_vs_tipg --smoke         # 20,000 events, 1 round
    .venv/bin/python -m benchmarks.serving_vs_tipg --events 200000 --rounds 3 --rebuild

Environment: ``GEOTRANQUIL_BENCH_SERVING_DATABASE_URL`` (default the local
``geotranquil_bench_serving``), ``GEOTRANQUIL_BENCH_OUT`` (output folder: JSON, server logs).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import psycopg
import shapely
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect

from benchmarks import _servers
from geotranquil.config import Settings
from geotranquil.db import admin
from geotranquil.db.engine import make_engine, psycopg_dsn
from geotranquil.db.event_keys import add_missing_keys

NAME = "serving_vs_tipg"
DEFAULT_EVENTS = 1_000_000
SMOKE_EVENTS = 20_000
SEED = 20241101
START = date(2024, 11, 1)
END = date(2026, 11, 1)  # exclusive: two years
REPORT_START = date(2025, 11, 1)
REPORT_END = date(2026, 10, 31)  # inclusive, as the endpoint takes it
TILE_GOAL = 2.0  # a tile cut by PostGIS (no cache), against tipg
CACHED_TILE_GOAL = 5.0  # a tile served from our cache, against tipg (issue 14)
ITEMS_GOAL = 2.0
REPORT_GOAL = 1.3
ZOOMS = (12, 13, 14, 15)
HOT_RESOLUTION = 10
ITEMS_LIMIT = 1000
#: the centre of Marseille, cut into 4 x 4 boxes for the items requests
CENTRE = (5.37, 43.28, 5.40, 43.31)
ITEMS_GRID = 4
OURS_EVENT_TILE_COLUMNS = (
    "id,source_id,category,occurred_at,reported_at,location_precision,h3_r10,batch_id"
)
OURS_ITEMS_COLUMNS = (
    "id,source_id,category,native_category,occurred_at,reported_at,location_precision,"
    "address,h3_r10,batch_id"
)
COPY_BLOCK_ROWS = 200_000
#: a bare tile statement slower than this is cancelled (profile only)
BARE_TIMEOUT_S = 5.0

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = Path(os.environ.get("GEOTRANQUIL_BENCH_OUT", BENCH_DIR / "out"))
RESULT_JSON = OUT_DIR / f"{NAME}.json"
MAPPING_PATH = BENCH_DIR / "bench_points.toml"
DEFAULT_URL = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/geotranquil_bench_serving"

#: side names
OURS = "ours"
OURS_NOCACHE = "ours_nocache"
TIPG = "tipg"
LAYERS = ("hotspots", "events")
#: our server without any tile cache: neither its process LRU nor the shared Redis one
NO_TILE_CACHE = {"GEOTRANQUIL_TILE_CACHE_ENTRIES": "0", "GEOTRANQUIL_TILE_CACHE_TTL_S": "0"}


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bench_database_url() -> str:
    return os.environ.get("GEOTRANQUIL_BENCH_SERVING_DATABASE_URL", DEFAULT_URL)


def tcp_dsn(database_url: str) -> str:
    """The plain ``postgresql://`` URL tipg needs (TCP host required)."""
    dsn = psycopg_dsn(database_url)
    if "@" not in dsn or "host=" in dsn or "@/" in dsn:
        raise RuntimeError(f"tipg needs a TCP database URL (user:pass@host:port/db), not {dsn}")
    return dsn


def to_psycopg(sql: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A ``:name`` statement and its values as psycopg's ``%(name)s`` form, unchanged otherwise."""
    clause = text(sql)
    used = {k: v for k, v in params.items() if k in clause._bindparams}  # unused ones are refused
    compiled = clause.bindparams(**used).compile(dialect=psycopg_dialect())
    return compiled.string, dict(compiled.params)


# --------------------------------------------------------------------------------------------
# data


@dataclass
class DataInfo:
    events: int
    seed: int
    hot_run: int
    hot_cells: int
    built: bool
    build_seconds: float
    reference: str


def _meta(dsn: str) -> dict[str, Any] | None:
    """What the bench database holds, or None if it is missing or incomplete."""
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            if conn.execute("SELECT to_regclass('public.bench_meta')").fetchone() == (None,):
                return None
            if conn.execute("SELECT to_regclass('public.bench_hotspots')").fetchone() == (None,):
                return None
            row = conn.execute("SELECT events, seed, hot_run, reference FROM bench_meta").fetchone()
            if row is None:
                return None
            count = conn.execute("SELECT count(*) FROM events").fetchone()
            run = conn.execute(
                "SELECT count(*) FROM hotspot_cells WHERE run_id = %s", (row[2],)
            ).fetchone()
    except psycopg.Error:
        return None
    assert count is not None and run is not None
    if int(count[0]) != int(row[0]) or int(run[0]) == 0:
        return None
    return {
        "events": int(row[0]),
        "seed": int(row[1]),
        "hot_run": int(row[2]),
        "hot_cells": int(run[0]),
        "reference": str(row[3]),
    }


def _copy_events(dsn: str, points: pd.DataFrame, source_id: int) -> None:
    """``points`` (``generate_points``' frame) into ``events`` with one COPY, H3 ids computed."""
    from geotranquil.db.partitions import ensure_event_partitions
    from geotranquil.grid.h3ids import (
        ANALYSIS_RESOLUTIONS,
        FINE_RESOLUTION,
        cells_from_points,
        parent_ids,
    )

    columns = (
        "source_id",
        "external_id",
        "category",
        "native_category",
        "occurred_at",
        "geom",
        "h3_fine",
        "h3_r7",
        "h3_r8",
        "h3_r9",
        "h3_r10",
        "location_precision",
    )
    statement = f"COPY events ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
    with psycopg.connect(dsn) as conn:
        occurred = points["occurred_at"]
        ensure_event_partitions(conn=conn, first=occurred.min(), last=occurred.max())
        with conn.cursor() as cur, cur.copy(statement) as copy:
            for lo in range(0, len(points), COPY_BLOCK_ROWS):
                part = points.iloc[lo : lo + COPY_BLOCK_ROWS]
                lon = part["lon"].to_numpy(dtype=float)
                lat = part["lat"].to_numpy(dtype=float)
                fine = cells_from_points(lon, lat, FINE_RESOLUTION)
                frame = pd.DataFrame(
                    {
                        "source_id": source_id,
                        "external_id": part["event_id"].to_numpy(),
                        "category": part["category"].to_numpy(),
                        "native_category": part["category"].to_numpy(),
                        "occurred_at": part["occurred_at"]
                        .dt.tz_convert("UTC")
                        .dt.strftime("%Y-%m-%d %H:%M:%S+00")
                        .to_numpy(),
                        "geom": shapely.to_wkb(
                            shapely.set_srid(shapely.points(lon, lat), 4326),
                            hex=True,
                            include_srid=True,
                        ),
                        "h3_fine": fine,
                    }
                )
                for res in ANALYSIS_RESOLUTIONS:
                    frame[f"h3_r{res}"] = parent_ids(fine, res)
                frame["location_precision"] = "exact"
                buffer = io.StringIO()
                frame[list(columns)].to_csv(buffer, header=False, index=False)
                copy.write(buffer.getvalue().encode("utf-8"))
        add_missing_keys(conn=conn)  # the global keys, as ingestion writes them
        conn.commit()


def _hotspots_view_sql(conn: Any) -> str:
    """Our ``hotspots`` collection's source SQL with its values written in (for tipg)."""
    from geotranquil.features.catalogue import SourceContext, load_catalogue
    from geotranquil.roles import Role

    catalogue = load_catalogue(conn=conn)
    sql, params = catalogue.collections["hotspots"].source(SourceContext(role=Role.ANALYST))
    compiled = (
        text(sql)
        .bindparams(**params)
        .compile(dialect=psycopg_dialect(), compile_kwargs={"literal_binds": True})
    )
    # literal values are written with '%' doubled (pyformat): the view is created without
    # parameters, where psycopg takes the text as it is
    return compiled.string.replace("%%", "%")


def prepare_data(database_url: str, events: int, seed: int, rebuild: bool) -> DataInfo:
    """The bench database with ``events`` events and a Gi* run, built unless already there."""
    from geotranquil.services.database import upgrade_database

    settings = Settings(database_url=database_url)
    dsn = psycopg_dsn(database_url)
    reference = str(settings.reference_dir) if settings.reference_dir else "built-in"
    meta = None if rebuild else _meta(dsn)
    same = meta and (meta["events"], meta["seed"], meta["reference"]) == (events, seed, reference)
    if same and meta:
        upgrade_database(settings)  # a newer schema revision applies in place
        if _meta(dsn) == meta:
            _log(
                f"reusing {database_url.rsplit('/', 1)[-1]}: {events:,} events, Gi* run "
                f"{meta['hot_run']} ({meta['hot_cells']:,} cells)"
            )
            return DataInfo(
                events, seed, meta["hot_run"], meta["hot_cells"], False, 0.0, meta["reference"]
            )
    started = time.perf_counter()
    _log(f"building {database_url.rsplit('/', 1)[-1]} with {events:,} events")
    admin.drop_database(database_url)
    admin.ensure_database(database_url)
    upgrade_database(settings)
    from geotranquil.ingest.mapping import load_mapping
    from geotranquil.ingest.pipeline import upsert_source
    from geotranquil.services.geography import build_cells, load_areas
    from geotranquil.services.hotspots import HotspotParams, compute_run
    from geotranquil.synth import generate_points
    from geotranquil.taxonomy import load_taxonomy

    engine = make_engine(settings)
    try:
        geography, _ = load_areas(engine, settings.reference_dir)
        build_cells(engine, [7, 8, 9, 10])
        _log("areas and grid loaded; drawing events")
        points = generate_points(events, seed=seed, geography=geography, start=START, months=24)
        mapping = load_mapping(MAPPING_PATH, {c.code for c in load_taxonomy()})
        with psycopg.connect(dsn) as conn:
            source_id = upsert_source(conn, mapping)
            conn.commit()
        t0 = time.perf_counter()
        _copy_events(dsn, points, source_id)
        _log(f"{events:,} events copied in {time.perf_counter() - t0:.1f} s; VACUUM ANALYZE")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE events")
        t0 = time.perf_counter()
        summary = compute_run(
            engine,
            HotspotParams(statistic="gi_star", resolution=HOT_RESOLUTION, start=START, end=END),
        )
        run_id = int(summary.run_id)
        _log(f"Gi* run {run_id} in {time.perf_counter() - t0:.1f} s")
        with engine.begin() as conn:
            view = _hotspots_view_sql(conn)
            conn.execute(text("DROP TABLE IF EXISTS bench_meta"))
            conn.execute(
                text(
                    "CREATE TABLE bench_meta (events bigint, seed bigint, hot_run int, "
                    "reference text, built_at timestamptz DEFAULT now())"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO bench_meta (events, seed, hot_run, reference) "
                    "VALUES (:e, :s, :r, :ref)"
                ),
                {"e": events, "s": seed, "r": run_id, "ref": reference},
            )
    finally:
        engine.dispose()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP VIEW IF EXISTS bench_hotspots")
        conn.execute(f"CREATE VIEW bench_hotspots AS {view}".encode())
        conn.execute("VACUUM ANALYZE")
    meta = _meta(dsn)
    if meta is None:
        raise RuntimeError("the bench database is incomplete after building it")
    seconds = time.perf_counter() - started
    _log(f"database ready in {seconds:.0f} s")
    return DataInfo(events, seed, meta["hot_run"], meta["hot_cells"], True, seconds, reference)


def create_keys(database_url: str) -> dict[str, str]:
    """Fresh analyst and planner keys (older bench keys are deleted)."""
    from geotranquil.db.keys import create_key

    engine = make_engine(Settings(database_url=database_url))
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM api_keys WHERE name LIKE 'bench-serving-%'"))
            analyst, _ = create_key(conn=conn, name="bench-serving-analyst", role="analyst")
            planner, _ = create_key(conn=conn, name="bench-serving-planner", role="planner")
    finally:
        engine.dispose()
    return {"analyst": analyst, "planner": planner}


# --------------------------------------------------------------------------------------------
# requests


def _tile_range(
    lon0: float, lat0: float, lon1: float, lat1: float, z: int
) -> Iterator[tuple[int, int]]:
    n = 2**z

    def tx(lon: float) -> int:
        return int((lon + 180.0) / 360.0 * n)

    def ty(lat: float) -> int:
        r = np.radians(lat)
        return int((1.0 - np.log(np.tan(r) + 1.0 / np.cos(r)) / np.pi) / 2.0 * n)

    for x in range(tx(lon0), tx(lon1) + 1):
        for y in range(ty(lat1), ty(lat0) + 1):
            yield x, y


def tile_list(dsn: str, per_zoom: int, seed: int) -> dict[int, list[tuple[int, int]]]:
    """Tiles touching the commune: all of them at 12-13, a seeded sample of ``per_zoom`` above."""
    out: dict[int, list[tuple[int, int]]] = {}
    rng = np.random.default_rng(seed)
    with psycopg.connect(dsn) as conn:
        box = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ("
            "SELECT ST_Extent(geom)::geometry AS e FROM areas WHERE kind = 'commune') AS b"
        ).fetchone()
        assert box is not None and box[0] is not None, "no commune in the bench database"
        for z in ZOOMS:
            lon0, lat0, lon1, lat1 = (float(v) for v in box)
            candidates = list(_tile_range(lon0, lat0, lon1, lat1, z))
            xs = [c[0] for c in candidates]
            ys = [c[1] for c in candidates]
            rows = conn.execute(
                "SELECT t.x, t.y FROM unnest(%s::int[], %s::int[]) AS t(x, y) "
                "WHERE EXISTS (SELECT 1 FROM areas a WHERE a.kind = 'commune' AND ST_Intersects("
                "a.geom, ST_Transform(ST_TileEnvelope(%s, t.x, t.y), 4326))) ORDER BY t.x, t.y",
                (xs, ys, z),
            ).fetchall()
            tiles = [(int(x), int(y)) for x, y in rows]
            if z >= 14 and len(tiles) > per_zoom:
                keep = np.sort(rng.choice(len(tiles), size=per_zoom, replace=False))
                tiles = [tiles[i] for i in keep]
            out[z] = tiles
    return out


def item_boxes() -> list[tuple[float, float, float, float]]:
    lon0, lat0, lon1, lat1 = CENTRE
    dx, dy = (lon1 - lon0) / ITEMS_GRID, (lat1 - lat0) / ITEMS_GRID
    return [
        (
            round(lon0 + i * dx, 6),
            round(lat0 + j * dy, 6),
            round(lon0 + (i + 1) * dx, 6),
            round(lat0 + (j + 1) * dy, 6),
        )
        for j in range(ITEMS_GRID)
        for i in range(ITEMS_GRID)
    ]


def events_in_boxes(dsn: str, boxes: Sequence[tuple[float, float, float, float]]) -> list[int]:
    with psycopg.connect(dsn) as conn:
        return [
            int(
                conn.execute(  # type: ignore[index]
                    "SELECT count(*) FROM events "
                    "WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
                    b,
                ).fetchone()[0]
            )
            for b in boxes
        ]


@dataclass(frozen=True)
class Side:
    """One server as the client sees it: how to spell each request."""

    name: str
    server: _servers.Server
    headers: dict[str, str]

    def tile_url(self, layer: str, z: int, x: int, y: int) -> str:
        base = self.server.base_url
        if self.name == TIPG:
            table = "public.bench_hotspots" if layer == "hotspots" else "public.events"
            url = f"{base}/collections/{table}/tiles/WebMercatorQuad/{z}/{x}/{y}"
            if layer == "events":
                url += f"?properties={OURS_EVENT_TILE_COLUMNS}"
            return url
        return f"{base}/collections/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}"

    def items_url(self, box: tuple[float, float, float, float]) -> str:
        bbox = ",".join(f"{v:.6f}" for v in box)
        if self.name == TIPG:
            return (
                f"{self.server.base_url}/collections/public.events/items?limit={ITEMS_LIMIT}"
                f"&bbox={bbox}&properties={OURS_ITEMS_COLUMNS}"
            )
        return f"{self.server.base_url}/collections/events/items?limit={ITEMS_LIMIT}&bbox={bbox}"


@dataclass
class Answer:
    status: int
    wire_bytes: int
    encoding: str
    seconds: float
    body: bytes | None = None  # decoded, on the warm-up pass only


class Client:
    """``clients`` threads, each with its own keep-alive ``httpx.Client``."""

    def __init__(self, clients: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=clients, thread_name_prefix="bench-client")
        self._local = threading.local()
        self._all: list[httpx.Client] = []
        self._lock = threading.Lock()

    def _client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(
                timeout=httpx.Timeout(300.0),
                headers={"Accept-Encoding": "gzip"},
                limits=httpx.Limits(max_keepalive_connections=4, max_connections=4),
            )
            self._local.client = client
            with self._lock:
                self._all.append(client)
        return client

    def get(self, url: str, headers: dict[str, str], keep_body: bool) -> Answer:
        client = self._client()
        started = time.perf_counter()
        if keep_body:
            response = client.get(url, headers=headers)
            body: bytes | None = response.content
            wire = response.num_bytes_downloaded
        else:
            with client.stream("GET", url, headers=headers) as response:
                wire = sum(len(chunk) for chunk in response.iter_raw())
            body = None
        seconds = time.perf_counter() - started
        if response.status_code not in (200, 204):
            text_ = response.content.decode("utf-8", "replace") if keep_body else ""
            raise RuntimeError(f"GET {url} -> {response.status_code} {text_[:2000]}")
        return Answer(
            response.status_code,
            wire,
            response.headers.get("Content-Encoding", ""),
            seconds,
            body,
        )

    def run(
        self, urls: Sequence[str], headers: dict[str, str], keep_body: bool = False
    ) -> tuple[float, list[Answer]]:
        started = time.perf_counter()
        answers = list(self.pool.map(lambda u: self.get(u, headers, keep_body), urls))
        return time.perf_counter() - started, answers

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for client in self._all:
            client.close()


class Backends:
    """CPU time of a database's PostgreSQL backends (``/proc``), for per-request costs."""

    def __init__(self, dsn: str) -> None:
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.db = self.conn.info.dbname

    def snapshot(self) -> dict[int, float]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.db,),
        ).fetchall()
        return {int(r[0]): _servers.process_cpu_seconds(int(r[0])) for r in rows}

    @staticmethod
    def delta(before: dict[int, float], after: dict[int, float]) -> float:
        return sum(max(0.0, v - before.get(pid, 0.0)) for pid, v in after.items())

    def close(self) -> None:
        self.conn.close()


# --------------------------------------------------------------------------------------------
# measures


@dataclass
class Cell:
    """One (side, layer, zoom) or (side, items): the timed rounds and what came back."""

    requests: int
    walls: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    pg_cpu: float = 0.0
    wire_bytes: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    gzip: int = 0
    big: int = 0  # answers over 1 kB decoded (warm-up), which both servers should compress
    raw_bytes: int = 0  # decoded, warm-up pass
    features: list[int] = field(default_factory=list)  # decoded sample

    @property
    def median_wall(self) -> float:
        return statistics.median(self.walls) if self.walls else float("nan")

    @property
    def per_s(self) -> float:
        return self.requests / self.median_wall if self.walls else 0.0

    @property
    def timed_requests(self) -> int:
        return self.requests * len(self.walls)

    def cpu_ms(self, which: str) -> float:
        n = self.timed_requests
        return 1000 * getattr(self, which) / n if n else 0.0


def _tile_features(data: bytes) -> int:
    import mapbox_vector_tile

    if not data:
        return 0
    decoded = mapbox_vector_tile.decode(data)
    return sum(len(layer.get("features", [])) for layer in decoded.values())


def _items_features(data: bytes) -> int:
    return len(json.loads(data)["features"])


def warm_up(
    client: Client,
    side: Side,
    urls: Sequence[str],
    cell: Cell,
    count: Callable[[bytes], int],
    sample: int,
) -> None:
    """One pass with bodies: statuses, sizes, compression, features of the first ``sample``."""
    _, answers = client.run(urls, side.headers, keep_body=True)
    for i, answer in enumerate(answers):
        cell.statuses[answer.status] = cell.statuses.get(answer.status, 0) + 1
        body = answer.body or b""
        cell.raw_bytes += len(body)
        if len(body) > 1024:
            cell.big += 1
            cell.gzip += answer.encoding == "gzip"
        if i < sample:
            cell.features.append(count(body))


def timed(client: Client, side: Side, urls: Sequence[str], cell: Cell, backends: Backends) -> None:
    cpu0, pg0 = side.server.cpu_seconds(), backends.snapshot()
    wall, answers = client.run(urls, side.headers)
    cell.server_cpu += side.server.cpu_seconds() - cpu0
    cell.pg_cpu += Backends.delta(pg0, backends.snapshot())
    cell.walls.append(wall)
    cell.wire_bytes += sum(a.wire_bytes for a in answers)


def median_ms(values: Sequence[float]) -> float:
    return 1000 * statistics.median(values)


def report_compare(
    side: Side, database_url: str, code: str, runs: int, warmups: int
) -> dict[str, Any]:
    """Endpoint against the bare statement, alternately; medians in ms."""
    from geotranquil.db.reports import report_sql
    from geotranquil.services.reports import ReportRequest, prepare_report

    settings = Settings(database_url=database_url)
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            query = prepare_report(
                conn=conn,
                request=ReportRequest(
                    area_kind="quartier", area_code=code, start=REPORT_START, end=REPORT_END
                ),
                settings=settings,
            )
    finally:
        engine.dispose()
    sql, params = to_psycopg(report_sql(), query.params)
    body = {
        "area": {"kind": "quartier", "code": code},
        "start": REPORT_START.isoformat(),
        "end": REPORT_END.isoformat(),
    }
    endpoint: list[float] = []
    bare: list[float] = []
    with (
        httpx.Client(timeout=300, headers={"Accept-Encoding": "gzip", **side.headers}) as http,
        psycopg.connect(psycopg_dsn(database_url)) as conn,
    ):
        url = f"{side.server.base_url}/reports"
        doc: dict[str, Any] = {}
        raw: Any = None
        for i in range(warmups + runs):
            t0 = time.perf_counter()
            response = http.post(url, json=body)
            t1 = time.perf_counter()
            if response.status_code != 200:
                raise RuntimeError(
                    f"POST /reports -> {response.status_code} {response.text[:2000]}"
                )
            row = conn.execute(sql, params).fetchone()
            t2 = time.perf_counter()
            conn.rollback()
            if i >= warmups:
                endpoint.append(t1 - t0)
                bare.append(t2 - t1)
            doc, raw = response.json(), row[0] if row else None
        encoding = response.headers.get("Content-Encoding", "")
        size = len(response.content)
    bare_doc = json.loads(raw) if isinstance(raw, str) else raw
    same = [x["n"] for x in doc["by_category"]] == [x["n"] for x in bare_doc["by_category"]]
    return {
        "quartier": code,
        "endpoint_ms": median_ms(endpoint),
        "sql_ms": median_ms(bare),
        "endpoint_runs_ms": [1000 * v for v in endpoint],
        "sql_runs_ms": [1000 * v for v in bare],
        "events_in_period": int(doc["totals"]["n"]),
        "same_counts": same,
        "response_bytes": size,
        "encoding": encoding,
    }


def busiest_quartier(dsn: str) -> tuple[str, str, int]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT a.code, a.name, count(*) FROM areas a JOIN events e "
            "ON e.geom && a.geom AND ST_Intersects(e.geom, a.geom) "
            "WHERE a.kind = 'quartier' GROUP BY a.code, a.name ORDER BY 3 DESC, 1 LIMIT 1"
        ).fetchone()
    assert row is not None, "no quartier with events"
    return str(row[0]), str(row[1]), int(row[2])


def bare_tile_sql(
    database_url: str,
    tiles: dict[int, list[tuple[int, int]]],
    rounds: int,
    prepare_threshold: int | None,
    timeout_s: float = BARE_TIMEOUT_S,
) -> dict[str, dict[int, float]]:
    """Our tile statements run bare through psycopg (one connection): tiles/s per layer, zoom.

    ``prepare_threshold=5`` is psycopg's default, which our server's pooled connections keep
    (a statement run 5 times on a connection is prepared, and PostgreSQL may then switch to a
    generic plan); ``None`` never prepares (custom plans for every tile). A statement slower than
    ``timeout_s`` is cancelled and its zoom reported as 0 (the rest of that zoom is skipped).
    """
    from geotranquil.features.catalogue import SourceContext, load_catalogue
    from geotranquil.roles import Role
    from geotranquil.tiles.mvt import layer_for, tile_sql

    engine = make_engine(Settings(database_url=database_url))
    try:
        with engine.connect() as conn:
            catalogue = load_catalogue(conn=conn)
    finally:
        engine.dispose()
    context = SourceContext(role=Role.ANALYST)
    out: dict[str, dict[int, float]] = {}
    with psycopg.connect(
        psycopg_dsn(database_url),
        prepare_threshold=prepare_threshold,
        options=f"-c statement_timeout={int(timeout_s * 1000)}",
    ) as conn:
        for layer_id in LAYERS:
            out[layer_id] = {}
            for z, zt in tiles.items():
                layer = layer_for(catalogue.collections[layer_id], catalogue, z)
                statements = [to_psycopg(*tile_sql(layer, context, z, x, y)) for x, y in zt]
                walls = []
                try:
                    for sql, params in statements:  # warm
                        conn.execute(sql, params).fetchone()
                    for _ in range(rounds):
                        t0 = time.perf_counter()
                        for sql, params in statements:
                            conn.execute(sql, params).fetchone()
                        walls.append(time.perf_counter() - t0)
                except psycopg.errors.QueryCanceled:
                    walls = []
                conn.rollback()
                out[layer_id][z] = len(zt) / statistics.median(walls) if walls else 0.0
    return out


# --------------------------------------------------------------------------------------------
# the run


@contextmanager
def running(servers: Sequence[_servers.Server]) -> Iterator[None]:
    try:
        for server in servers:
            _log(f"starting {server.name} on port {server.port}")
            server.start()
        yield
    finally:
        for server in servers:
            server.stop()


def check_tipg_collections(side: Side) -> None:
    response = httpx.get(f"{side.server.base_url}/collections", timeout=60)
    ids = {c["id"] for c in response.json().get("collections", [])}
    missing = {"public.events", "public.bench_hotspots"} - ids
    if missing:
        raise RuntimeError(f"tipg does not serve {sorted(missing)}; it serves {sorted(ids)}")


def rate(cells: Sequence[Cell]) -> float:
    """Requests per second over several cells: their lists over their median walls."""
    wall = sum(c.median_wall for c in cells)
    return sum(c.requests for c in cells) / wall if wall > 0 else 0.0


def run(args: argparse.Namespace) -> dict[str, Any]:
    database_url = bench_database_url()
    dsn = psycopg_dsn(database_url)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    uvicorn = _servers.ensure_tipg_venv()
    data = prepare_data(database_url, args.events, args.seed, args.rebuild)
    keys = create_keys(database_url)
    tiles = tile_list(dsn, args.tiles_per_zoom, args.seed)
    boxes = item_boxes()
    box_counts = events_in_boxes(dsn, boxes)
    code, quartier_name, quartier_events = busiest_quartier(dsn)
    _log(
        f"tiles per zoom {{{', '.join(f'{z}: {len(t)}' for z, t in tiles.items())}}}; "
        f"{len(boxes)} item boxes holding {min(box_counts):,} to {max(box_counts):,} events; "
        f"report on quartier {code} {quartier_name} ({quartier_events:,} events)"
    )

    log_dir = OUT_DIR / f"{NAME}_logs"
    ours = _servers.ours_server(OURS, database_url, log_dir)
    nocache = _servers.ours_server(OURS_NOCACHE, database_url, log_dir, NO_TILE_CACHE)
    tipg = _servers.tipg_server(
        TIPG,
        uvicorn,
        tcp_dsn(database_url),
        ["public.events", "public.bench_hotspots"],
        log_dir,
        {"TIPG_TABLE_CONFIG__public_bench_hotspots__PK": "fid"},
    )
    analyst = {"X-API-Key": keys["analyst"]}
    sides = [Side(OURS, ours, analyst), Side(OURS_NOCACHE, nocache, analyst), Side(TIPG, tipg, {})]
    tile_cells = {
        s.name: {(la, z): Cell(len(tiles[z])) for la in LAYERS for z in ZOOMS} for s in sides
    }
    item_sides = [sides[0], sides[2]]
    item_cells = {s.name: Cell(len(boxes)) for s in item_sides}
    client = Client(args.clients)
    backends = Backends(dsn)
    started = time.perf_counter()
    try:
        with running([s.server for s in sides]):
            check_tipg_collections(sides[2])
            urls = {
                s.name: {
                    (la, z): [s.tile_url(la, z, x, y) for x, y in tiles[z]]
                    for la in LAYERS
                    for z in ZOOMS
                }
                for s in sides
            }
            item_urls = {s.name: [s.items_url(b) for b in boxes] for s in item_sides}
            for side in sides:
                _log(f"warm-up: {side.name}")
                for key, cell in tile_cells[side.name].items():
                    warm_up(
                        client, side, urls[side.name][key], cell, _tile_features, args.decode_sample
                    )
                if side.name in item_cells:
                    warm_up(
                        client,
                        side,
                        item_urls[side.name],
                        item_cells[side.name],
                        _items_features,
                        len(boxes),
                    )
            for r in range(args.rounds):
                order = sides[r % len(sides) :] + sides[: r % len(sides)]
                _log(f"round {r + 1}/{args.rounds}: {', '.join(s.name for s in order)}")
                for side in order:
                    for key, cell in tile_cells[side.name].items():
                        timed(client, side, urls[side.name][key], cell, backends)
                    if side.name in item_cells:
                        timed(client, side, item_urls[side.name], item_cells[side.name], backends)
            _log("report: endpoint against bare SQL")
            planner = Side(OURS, ours, {"X-API-Key": keys["planner"]})
            report = report_compare(planner, database_url, code, args.report_runs, 3)
    finally:
        client.close()
        backends.close()
    bare = {}
    if args.profile:
        _log("profile: our bare tile SQL")
        for label, threshold in (("custom plans", None), ("psycopg auto-prepare", 5)):
            bare[label] = bare_tile_sql(
                database_url, tiles, 2 if threshold is None else 1, threshold
            )
    return {
        "data": data.__dict__,
        "clients": args.clients,
        "rounds": args.rounds,
        "tiles_per_zoom": {z: len(t) for z, t in tiles.items()},
        "tiles": tiles,
        "item_boxes": boxes,
        "item_box_events": box_counts,
        "quartier": {"code": code, "name": quartier_name, "events": quartier_events},
        "tile_cells": tile_cells,
        "item_cells": item_cells,
        "report": report,
        "bare_tiles": bare,
        "seconds": time.perf_counter() - started,
        "load_average": list(os.getloadavg()),
    }


# --------------------------------------------------------------------------------------------
# output


def _fmt_ratio(ours: float, peer: float) -> float:
    return ours / peer if peer > 0 else 0.0


def result_lines(out: dict[str, Any]) -> list[str]:
    cells = out["tile_cells"]
    lines = []

    def tiles_line(name: str, side: str, layers: Sequence[str]) -> str:
        ours = rate([cells[side][(la, z)] for la in layers for z in ZOOMS])
        peer = rate([cells[TIPG][(la, z)] for la in layers for z in ZOOMS])
        ratio = _fmt_ratio(ours, peer)
        goal = CACHED_TILE_GOAL if side == OURS else TILE_GOAL
        return (
            f"RESULT {name} {side}_tiles_per_s={ours:.1f} tipg_tiles_per_s={peer:.1f} "
            f"ratio={ratio:.3f} goal={goal:g} {'PASS' if ratio >= goal else 'FAIL'}"
        )

    for side, suffix in ((OURS, ""), (OURS_NOCACHE, "_nocache")):
        for layer in LAYERS:
            lines.append(tiles_line(f"tiles_{layer}_vs_tipg{suffix}", side, [layer]))
    lines.append(tiles_line("tiles_vs_tipg_nocache", OURS_NOCACHE, LAYERS))
    ours_items, tipg_items = out["item_cells"][OURS].per_s, out["item_cells"][TIPG].per_s
    ratio = _fmt_ratio(ours_items, tipg_items)
    lines.append(
        f"RESULT items_vs_tipg ours_pages_per_s={ours_items:.1f} tipg_pages_per_s={tipg_items:.1f} "
        f"ratio={ratio:.3f} goal={ITEMS_GOAL:g} {'PASS' if ratio >= ITEMS_GOAL else 'FAIL'}"
    )
    rep = out["report"]
    ratio = rep["endpoint_ms"] / rep["sql_ms"] if rep["sql_ms"] > 0 else 0.0
    lines.append(
        f"RESULT report_vs_sql endpoint_ms={rep['endpoint_ms']:.1f} sql_ms={rep['sql_ms']:.1f} "
        f"ratio={ratio:.3f} goal={REPORT_GOAL:g} {'PASS' if 0 < ratio < REPORT_GOAL else 'FAIL'}"
    )
    lines.append(tiles_line("tiles_vs_tipg", OURS, LAYERS))
    return lines


def print_table(out: dict[str, Any]) -> None:
    data = out["data"]
    cells = out["tile_cells"]
    print()
    print(
        f"{data['events']:,} events, Gi* run {data['hot_run']} at resolution {HOT_RESOLUTION} "
        f"({data['hot_cells']:,} cells); {out['clients']} client threads (keep-alive httpx, "
        f"Accept-Encoding: gzip); {out['rounds']} timed round(s) after a warm-up pass; "
        "uvicorn --workers 1 on each side"
    )
    print(
        "sides: ours = geotranquil, tile cache on (default, 4096 entries); ours_nocache = "
        "GEOTRANQUIL_TILE_CACHE_ENTRIES=0 and _TTL_S=0 (no Redis tier); tipg = tipg 1.6.1 on "
        "public.bench_hotspots (view = "
        "our hot-spot source SQL) and public.events"
    )
    print(
        "NOTE: events tiles at zoom 12-13 are NOT like for like: ours draws hexagon counts "
        "(resolution 9) below zoom 14, as required; tipg draws raw points, capped at 10,000."
    )
    print()
    head = (
        f"{'layer':<9}{'z':>3}{'tiles':>6}  {'side':<13}{'tiles/s':>9}{'ms/tile':>9}"
        f"{'srv cpu ms':>11}{'pg cpu ms':>10}{'wire kB':>9}{'raw kB':>8}{'feat.':>8}"
        f"{'gzip':>7}  statuses"
    )
    print(head)
    print("-" * len(head))
    for layer in LAYERS:
        for z in ZOOMS:
            for side in (OURS, OURS_NOCACHE, TIPG):
                c = cells[side][(layer, z)]
                n = c.requests
                feats = f"{statistics.mean(c.features):.0f}" if c.features else "-"
                wire = c.wire_bytes / max(1, c.timed_requests) / 1024
                print(
                    f"{layer:<9}{z:>3}{n:>6}  {side:<13}{c.per_s:>9.1f}"
                    f"{1000 / c.per_s if c.per_s else 0:>9.2f}"
                    f"{c.cpu_ms('server_cpu'):>11.2f}{c.cpu_ms('pg_cpu'):>10.2f}"
                    f"{wire:>9.1f}{c.raw_bytes / max(1, n) / 1024:>8.1f}{feats:>8}"
                    f"{f'{c.gzip}/{c.big}':>7}  {dict(sorted(c.statuses.items()))}"
                )
        for side in (OURS, OURS_NOCACHE, TIPG):
            sel = [cells[side][(layer, z)] for z in ZOOMS]
            print(
                f"{layer:<9}{'all':>3}{sum(c.requests for c in sel):>6}  "
                f"{side:<13}{rate(sel):>9.1f}"
            )
        print()
    for side in (OURS, OURS_NOCACHE, TIPG):
        sel = [cells[side][(la, z)] for la in LAYERS for z in ZOOMS]
        print(
            f"{'both':<9}{'all':>3}{sum(c.requests for c in sel):>6}  {side:<13}{rate(sel):>9.1f}"
        )
    print(
        "  tiles/s = list length / median wall time of the rounds; ms/tile its inverse (with "
        f"{out['clients']} clients in parallel); srv/pg cpu ms = CPU time of the server process "
        "/ its PostgreSQL backends per tile; wire kB = compressed bytes per tile; raw kB and "
        "feat. (features, first tiles of each zoom) decoded on the warm-up pass; gzip = "
        "answers over 1 kB that came gzipped"
    )
    if out["bare_tiles"]:
        print()
        print(
            "our bare tile SQL (ST_AsMVT statement of geotranquil.tiles.mvt, one psycopg "
            "connection, sequential, after one warm pass), tiles/s:"
        )
        for label, layers in out["bare_tiles"].items():
            for layer, per_zoom in layers.items():
                parts = ", ".join(
                    f"z{z} {v:.1f}" if v > 0 else f"z{z} TIMEOUT (a tile > {BARE_TIMEOUT_S:g} s)"
                    for z, v in per_zoom.items()
                )
                if all(v > 0 for v in per_zoom.values()):
                    n = sum(len(out["tiles"][z]) for z in per_zoom)
                    total = n / sum(len(out["tiles"][z]) / v for z, v in per_zoom.items())
                    parts += f"; all {total:.1f}"
                print(f"  {label:<21} {layer:<9} {parts}")
        print(
            "  (auto-prepare: psycopg prepares a statement run 5 times on a connection, as on "
            "our server's pooled connections; PostgreSQL may then use a generic plan)"
        )
    print()
    print(
        f"items: limit={ITEMS_LIMIT}, {len(out['item_boxes'])} boxes in lon {CENTRE[0]}-"
        f"{CENTRE[2]}, lat {CENTRE[1]}-{CENTRE[3]} holding {min(out['item_box_events']):,} to "
        f"{max(out['item_box_events']):,} events; tipg given properties={OURS_ITEMS_COLUMNS}"
    )
    print(
        f"{'side':<13}{'pages/s':>9}{'srv cpu ms':>11}{'pg cpu ms':>10}{'wire kB':>9}"
        f"{'raw kB':>8}{'feat.':>7}{'gzip':>7}"
    )
    for side in (OURS, TIPG):
        c = out["item_cells"][side]
        feats = f"{statistics.mean(c.features):.0f}" if c.features else "-"
        print(
            f"{side:<13}{c.per_s:>9.1f}{c.cpu_ms('server_cpu'):>11.2f}{c.cpu_ms('pg_cpu'):>10.2f}"
            f"{c.wire_bytes / max(1, c.timed_requests) / 1024:>9.1f}"
            f"{c.raw_bytes / max(1, c.requests) / 1024:>8.1f}{feats:>7}{f'{c.gzip}/{c.big}':>7}"
        )
    rep = out["report"]
    q = out["quartier"]
    print()
    print(
        f"report: quartier {q['code']} {q['name']} ({q['events']:,} events in all, "
        f"{rep['events_in_period']:,} from {REPORT_START} to {REPORT_END}); "
        f"{len(rep['endpoint_runs_ms'])} runs each, alternately, after 3 warm-ups"
    )
    print(
        f"  POST /reports median {rep['endpoint_ms']:.1f} ms (min "
        f"{min(rep['endpoint_runs_ms']):.1f}); bare SQL via psycopg median {rep['sql_ms']:.1f} ms "
        f"(min {min(rep['sql_runs_ms']):.1f}); same counts: {rep['same_counts']}; response "
        f"{rep['response_bytes']:,} bytes, Content-Encoding {rep['encoding'] or 'none'}"
    )
    print(f"load average after: {', '.join(f'{v:.2f}' for v in out['load_average'])}")
    print()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Cell):
        return {
            "requests": value.requests,
            "walls": value.walls,
            "per_s": value.per_s,
            "server_cpu_ms_per_request": value.cpu_ms("server_cpu"),
            "pg_cpu_ms_per_request": value.cpu_ms("pg_cpu"),
            "wire_bytes": value.wire_bytes,
            "raw_bytes_warmup": value.raw_bytes,
            "statuses": value.statuses,
            "gzip": value.gzip,
            "over_1kb": value.big,
            "features_sample": value.features,
        }
    if isinstance(value, dict):
        return {
            (k if isinstance(k, str | int) else "/".join(map(str, k))): _jsonable(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m benchmarks.{NAME}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--events",
        type=int,
        default=None,
        help=f"events in the database (default {DEFAULT_EVENTS:,})",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"small run: {SMOKE_EVENTS:,} events, 1 round, few tiles",
    )
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (default 5)")
    parser.add_argument("--clients", type=int, default=4, help="client threads (default 4)")
    parser.add_argument(
        "--tiles-per-zoom",
        type=int,
        default=None,
        help="tiles sampled at zoom 14 and 15 (default 40)",
    )
    parser.add_argument(
        "--report-runs", type=int, default=None, help="timed report runs per side (default 21)"
    )
    parser.add_argument(
        "--decode-sample",
        type=int,
        default=None,
        help="tiles decoded per zoom to count features (default 4)",
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the bench database")
    parser.add_argument(
        "--no-profile", dest="profile", action="store_false", help="skip timing our bare tile SQL"
    )
    args = parser.parse_args(argv)
    smoke = args.smoke
    args.events = args.events or (SMOKE_EVENTS if smoke else DEFAULT_EVENTS)
    args.rounds = args.rounds or (1 if smoke else 5)
    args.tiles_per_zoom = args.tiles_per_zoom or (6 if smoke else 40)
    args.report_runs = args.report_runs or (5 if smoke else 21)
    args.decode_sample = (
        args.decode_sample if args.decode_sample is not None else (2 if smoke else 4)
    )
    return args


def run_and_report(
    args: argparse.Namespace,
    run: Callable[[argparse.Namespace], dict[str, Any]],
    result_json: Path,
    print_table: Callable[[dict[str, Any]], None],
    result_lines: Callable[[dict[str, Any]], list[str]],
) -> int:
    """What the ``main`` of a serving benchmark does: ``run(args)``, its results written to
    ``result_json``, the table and the RESULT lines printed; 0."""
    # a SIGTERM unwinds like an exception, so that the servers (nginx, workers) are stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out = run(args)
    result_json.write_text(json.dumps(_jsonable(out), indent=2, default=str) + "\n", "utf-8")
    print_table(out)
    for line in result_lines(out):
        print(line, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_and_report(parse_args(argv), run, RESULT_JSON, print_table, result_lines)


if __name__ == "__main__":
    sys.exit(main())
