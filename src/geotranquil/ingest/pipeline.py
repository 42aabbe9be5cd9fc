"""The ingestion pipeline: read -> validate/map -> H3 -> upsert, one committed chunk at a time.

Each chunk is one transaction holding its events, its rejections and the batch checkpoint
(``rows_committed``), so a crash (even ``kill -9``) leaves whole chunks only, and a re-run of
the same file resumes after the last committed chunk. Upserts on ``(source_id, external_id)``
make re-ingestion idempotent and let a corrected row update its event. Reading and validating
the next chunk (Python) overlaps with writing the current one (PostgreSQL) on a second thread.
New events are written with ``COPY`` straight into ``events`` (their keys then into
``event_keys``, the global unique key); known ones with one ``UPDATE`` found by their keys.
"""

from __future__ import annotations

import csv
import hashlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import shapely
from pyproj import Transformer
from shapely import wkb as shapely_wkb
from shapely.geometry.base import BaseGeometry
from shapely.ops import transform as shapely_transform

from geotranquil.db import ingest as db
from geotranquil.db import partitions
from geotranquil.db.copy import frame_csv
from geotranquil.errors import InvalidInput, NotReady
from geotranquil.ingest.ewkb import points_hex_ewkb
from geotranquil.ingest.mapping import SourceMapping
from geotranquil.ingest.readers import read_chunks
from geotranquil.ingest.validate import (
    STAGE_COLUMNS,
    ValidatedChunk,
    ValidationContext,
    validate_chunk,
)

Progress = Callable[[int, int, int], None]  # rows done, bytes done, total bytes


@dataclass
class IngestSummary:
    """What one ingestion did (the whole batch, including a resumed earlier part)."""

    batch_id: int
    source: str
    file_name: str
    status: str  # completed | skipped
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    unlocated: int = 0
    resumed_from: int = 0
    seconds: float = 0.0
    rejections_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return self.inserted + self.updated + self.unchanged


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def upsert_source(conn: psycopg.Connection[Any], mapping: SourceMapping) -> int:
    """Create or update the ``sources`` row of a mapping; return its id."""
    return db.upsert_source(
        conn=conn,
        slug=mapping.slug,
        name=mapping.name,
        kind=mapping.kind,
        owner=mapping.owner,
        mapping=mapping.raw,
    )


def load_study_area(conn: psycopg.Connection[Any], buffer_m: float) -> BaseGeometry:
    """The commune outline (optionally widened by ``buffer_m`` metres), prepared for tests."""
    wkb = db.commune_wkb(conn=conn)
    if wkb is None:
        raise NotReady(
            "la zone d'étude n'est pas chargée : lancez d'abord « geotranquil areas load »"
        )
    area = shapely_wkb.loads(wkb)
    if buffer_m > 0:
        to_m = Transformer.from_crs(4326, 2154, always_xy=True).transform
        to_deg = Transformer.from_crs(2154, 4326, always_xy=True).transform
        area = shapely_transform(to_deg, shapely_transform(to_m, area).buffer(buffer_m))
    shapely.prepare(area)
    return area


def load_cameras(data_file: Path, mapping: SourceMapping) -> dict[str, tuple[float, float]]:
    """Camera positions (WGS84) from the camera file named in the mapping, beside the data file."""
    table = mapping.cameras
    if table is None:
        return {}
    path = Path(table.file) if Path(table.file).is_absolute() else data_file.parent / table.file
    if not path.is_file():
        raise InvalidInput(
            f"fichier des caméras introuvable : {path} (attendu à côté de {data_file.name})"
        )
    transformer = Transformer.from_crs(table.crs, 4326, always_xy=True)
    cameras: dict[str, tuple[float, float]] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=table.delimiter):
            try:
                x, y = float(row[table.x]), float(row[table.y])
            except (KeyError, TypeError, ValueError):
                continue  # a camera without a usable position: its alerts become unknown_camera
            lon, lat = transformer.transform(x, y)
            cameras[row[table.id].strip()] = (float(lon), float(lat))
    return cameras


_DONE = object()


def _produce(
    chunks: Iterator[Any],
    mapping: SourceMapping,
    ctx: ValidationContext,
    out: queue.Queue[Any],
    stop: threading.Event,
    prepare: Callable[[ValidatedChunk], bytes],
) -> None:
    try:
        for chunk in chunks:
            vc = validate_chunk(chunk, mapping, ctx)
            # the COPY text of the chunk as all-new events, built here so that the writer
            # thread only waits on PostgreSQL (it is used when no identifier is known yet)
            item: Any = (vc, prepare(vc), chunk.bytes_read)
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.2)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return
        out.put(_DONE)
    except BaseException as exc:  # handed to the consumer, which re-raises it
        out.put(exc)


#: Columns of ``events`` written by ``COPY`` for new rows.
EVENT_COPY_COLUMNS = ["source_id", "batch_id"] + [
    "geom" if c == "lon" else c for c in STAGE_COLUMNS if c != "lat"
]


def _utc_months(occurred: pd.Series) -> list[date]:
    """The first days of the UTC months of ``occurred`` (tz-aware times), each once.

    >>> times = pd.Series(pd.to_datetime(["2025-03-31T23:30:00+00:00", "1975-06-01T00:00:00Z",
    ...                                   "2025-03-01T00:00:00Z"], utc=True))
    >>> _utc_months(times)
    [datetime.date(1975, 6, 1), datetime.date(2025, 3, 1)]
    """
    utc = pd.DatetimeIndex(occurred.dropna()).tz_convert("UTC")
    return sorted({date(y, m, 1) for y, m in zip(utc.year, utc.month, strict=True)})


def _new_events_csv(rows: pd.DataFrame, source_id: int, batch_id: int) -> bytes:
    """``COPY events (EVENT_COPY_COLUMNS)`` text of validated rows (empty when no rows)."""
    if not len(rows):
        return b""
    lon, lat = rows["lon"].to_numpy(), rows["lat"].to_numpy()
    located = ~np.isnan(lon)
    geom = np.full(len(lon), None, dtype=object)
    geom[located] = points_hex_ewkb(lon[located], lat[located])  # the cheapest to parse
    out = rows.assign(source_id=source_id, batch_id=batch_id, geom=geom)
    return frame_csv(out, EVENT_COPY_COLUMNS)


def _write_chunk(
    conn: psycopg.Connection[Any],
    vc: ValidatedChunk,
    source_id: int,
    batch_id: int,
    prepared: bytes | None = None,
) -> tuple[int, int, int]:
    """Write one validated chunk in the caller's transaction; return (ins, upd, unchanged).

    ``prepared`` is :func:`_new_events_csv` of the whole chunk when the caller has it
    already; it is used when none of the chunk's identifiers is stored yet.

    New identifiers go straight into ``events`` with ``COPY`` (PostgreSQL's bulk path, the
    same as a plain load); identifiers already stored go through a staging table and one
    set-based ``UPDATE`` that skips unchanged rows. A transaction-level advisory lock per
    source serialises concurrent writers of the same source, so the split cannot race.
    """
    inserted = updated = 0
    rows = vc.rows
    if len(rows):
        db.lock_source(conn=conn, source_id=source_id)
        existing = db.known_external_ids(
            conn=conn, source_id=source_id, external_ids=rows["external_id"].tolist()
        )
        is_old = rows["external_id"].isin(existing).to_numpy()
        new = rows[~is_old]
        if len(new):
            data = (
                prepared
                if prepared is not None and not is_old.any()
                else _new_events_csv(new, source_id, batch_id)
            )
            db.insert_events(
                conn=conn,
                columns=EVENT_COPY_COLUMNS,
                data=data,
                source_id=source_id,
                batch_id=batch_id,
                rows=len(new),
            )
            inserted = len(new)
        old = rows[is_old]
        if len(old):
            updated = db.update_events(
                conn=conn,
                columns=STAGE_COLUMNS,
                data=frame_csv(old, STAGE_COLUMNS),
                source_id=source_id,
                batch_id=batch_id,
            )
    if vc.rejections:
        db.insert_rejections(
            conn=conn,
            batch_id=batch_id,
            rejections=((r.row_number, r.reason, r.detail, r.raw) for r in vc.rejections),
        )
    unchanged = len(rows) - inserted - updated
    db.checkpoint(
        conn=conn,
        batch_id=batch_id,
        last_row=vc.last_row,
        inserted=inserted,
        updated=updated,
        unchanged=unchanged,
        rejected=len(vc.rejections),
        unlocated=vc.unlocated,
    )
    return inserted, updated, unchanged


def ingest_file(
    dsn: str,
    path: Path,
    mapping: SourceMapping,
    *,
    chunk_rows: int = 50_000,
    study_area_buffer_m: float = 0.0,
    force: bool = False,
    progress: Progress | None = None,
) -> IngestSummary:
    """Ingest one native file with its mapping; see the module docstring for the guarantees.

    A file already ingested completely for this source with the same mapping, and that stored
    at least one event, is skipped unless ``force``; an interrupted or failed one is resumed
    after its last committed chunk (with the same mapping; a batch interrupted under another
    mapping is marked failed and the file read again from the start).
    """
    started = time.perf_counter()
    if not path.is_file():
        raise InvalidInput(f"fichier introuvable : {path}")
    sha = file_sha256(path)
    size = path.stat().st_size
    with psycopg.connect(dsn) as conn:
        source_id = upsert_source(conn, mapping)
        known = db.category_codes(conn=conn)
        study_area = load_study_area(conn, study_area_buffer_m)
        conn.commit()
        lock_key = int.from_bytes(
            hashlib.sha256(f"{source_id}:{sha}".encode()).digest()[:8], "big", signed=True
        )
        if not db.try_lock(conn=conn, key=lock_key):
            raise InvalidInput(f"{path.name} est déjà en cours d'ingestion par un autre processus")
        try:
            mapping_sha = mapping.sha256
            db.abandon_batches(
                conn=conn, source_id=source_id, sha256=sha, mapping_sha256=mapping_sha
            )
            previous = db.previous_batch(
                conn=conn, source_id=source_id, sha256=sha, mapping_sha256=mapping_sha
            )
            resume_from = 0
            # skipped only when read completely with this mapping and something was stored: a
            # file whose rows were all rejected is read again (the reference data may be fixed)
            if previous and previous[1] == "completed" and previous[3] > 0 and not force:
                summary = batch_summary(conn, previous[0], mapping.slug, path.name, "skipped")
                summary.seconds = time.perf_counter() - started
                return summary
            if previous and previous[1] in ("running", "failed"):
                batch_id, resume_from = previous[0], previous[2]
                db.resume_batch(conn=conn, batch_id=batch_id)
            else:
                batch_id = db.create_batch(
                    conn=conn,
                    source_id=source_id,
                    file_name=path.name,
                    sha256=sha,
                    size=size,
                    mapping_sha256=mapping_sha,
                )
            conn.commit()
            run = BatchRun(
                path,
                mapping,
                chunk_rows,
                known,
                study_area,
                source_id,
                batch_id,
                resume_from,
                size,
                progress,
            )
            return run_batch(conn, run, started)
        finally:
            db.unlock(conn=conn, key=lock_key)
            conn.commit()


@dataclass(frozen=True)
class BatchRun:
    """One batch to run: its file read with ``mapping`` in chunks of ``chunk_rows``, validated
    against ``known`` categories and ``study_area``, written to ``batch_id`` of ``source_id``
    after row ``resume_from`` (the last committed checkpoint)."""

    path: Path
    mapping: SourceMapping
    chunk_rows: int
    known: set[str]
    study_area: BaseGeometry
    source_id: int
    batch_id: int
    resume_from: int
    size: int
    progress: Progress | None


def run_batch(conn: psycopg.Connection[Any], run: BatchRun, started: float) -> IngestSummary:
    """Run the chunks of ``run``, then mark its batch completed; on any error (even an
    interrupt) it is marked failed with the error, and the error raised. Its summary, timed
    from ``started`` (``time.perf_counter``)."""
    try:
        _run_chunks(conn, run)
    except BaseException as exc:
        conn.rollback()
        db.fail_batch(conn=conn, batch_id=run.batch_id, error=f"{type(exc).__name__}: {exc}")
        conn.commit()
        raise
    db.complete_batch(conn=conn, batch_id=run.batch_id)
    conn.commit()
    summary = batch_summary(conn, run.batch_id, run.mapping.slug, run.path.name, "completed")
    summary.resumed_from = run.resume_from
    summary.seconds = time.perf_counter() - started
    return summary


def _run_chunks(conn: psycopg.Connection[Any], run: BatchRun) -> None:
    ctx = ValidationContext(
        known_categories=run.known,
        study_area=run.study_area,
        cameras=load_cameras(run.path, run.mapping),
    )
    db.create_stage(conn=conn)
    conn.commit()
    out: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()
    producer = threading.Thread(
        target=_produce,
        args=(
            read_chunks(run.path, run.mapping, run.chunk_rows),
            run.mapping,
            ctx,
            out,
            stop,
            lambda vc: _new_events_csv(vc.rows, run.source_id, run.batch_id),
        ),
        name="ingest-reader",
        daemon=True,
    )
    producer.start()
    resume_from = run.resume_from
    try:
        while True:
            item = out.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            vc, prepared, bytes_read = item
            if vc.last_row > resume_from:  # chunks at or before the checkpoint are committed
                if resume_from:  # the chunk size may have changed since the interrupted run
                    kept = vc.after(resume_from)
                    if len(kept.rows) != len(vc.rows):
                        prepared = None
                    vc = kept
                if len(vc.rows):  # the months the chunk writes (new rows or moved ones)
                    partitions.ensure_event_months(
                        conn=conn, months=_utc_months(vc.rows["occurred_at"])
                    )
                    conn.commit()  # apart: creating one locks events exclusively
                _write_chunk(conn, vc, run.source_id, run.batch_id, prepared)
                conn.commit()
            if run.progress:
                run.progress(vc.last_row, bytes_read, run.size)
    finally:
        stop.set()
        producer.join(timeout=5)


def batch_summary(
    conn: psycopg.Connection[Any], batch_id: int, slug: str, name: str, status: str
) -> IngestSummary:
    counts, reasons = db.batch_counts(conn=conn, batch_id=batch_id)
    return IngestSummary(
        batch_id=batch_id,
        source=slug,
        file_name=name,
        status=status,
        rejections_by_reason=reasons,
        **counts,
    )
