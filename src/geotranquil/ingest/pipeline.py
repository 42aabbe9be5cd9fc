"""The ingestion pipeline: read -> validate/map -> H3 -> upsert, one committed chunk at a time.

Each chunk is one transaction holding its events, its rejections and the batch checkpoint
(``rows_committed``), so a crash (even ``kill -9``) leaves whole chunks only, and a re-run of
the same file resumes after the last committed chunk. Upserts on ``(source_id, external_id)``
make re-ingestion idempotent and let a corrected row update its event. Reading and validating
the next chunk (Python) overlaps with writing the current one (PostgreSQL) on a second thread.
New events are written with ``COPY`` straight into ``events``; known ones with one ``UPDATE``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import psycopg
import shapely
from psycopg.types.json import Jsonb
from pyproj import Transformer
from shapely import wkb as shapely_wkb
from shapely.geometry.base import BaseGeometry
from shapely.ops import transform as shapely_transform

from geotranquil.errors import InvalidInput, NotReady
from geotranquil.ingest.mapping import SourceMapping
from geotranquil.ingest.readers import read_chunks
from geotranquil.ingest.validate import (
    STAGE_COLUMNS,
    ValidatedChunk,
    ValidationContext,
    validate_chunk,
)

Progress = Callable[[int, int, int], None]  # rows done, bytes done, total bytes

#: First key of the advisory locks taken by ingestion (the second is the source id).
_LOCK_NAMESPACE = 0x67746E71  # "gtnq"


def _sql(name: str) -> str:
    return resources.files("geotranquil.ingest").joinpath("sql", name).read_text("utf-8")


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
    row = conn.execute(
        """
        INSERT INTO sources (slug, name, kind, owner, mapping)
        VALUES (%(slug)s, %(name)s, %(kind)s, %(owner)s, %(mapping)s)
        ON CONFLICT (slug) DO UPDATE SET
            name = EXCLUDED.name, kind = EXCLUDED.kind, owner = EXCLUDED.owner,
            mapping = EXCLUDED.mapping, updated_at = now()
        RETURNING id
        """,
        {
            "slug": mapping.slug,
            "name": mapping.name,
            "kind": mapping.kind,
            "owner": mapping.owner,
            "mapping": Jsonb(mapping.raw),
        },
    ).fetchone()
    assert row is not None
    return int(row[0])


def load_study_area(conn: psycopg.Connection[Any], buffer_m: float) -> BaseGeometry:
    """The commune outline (optionally widened by ``buffer_m`` metres), prepared for tests."""
    row = conn.execute(
        "SELECT ST_AsBinary(geom) FROM areas WHERE kind = 'commune' ORDER BY id LIMIT 1"
    ).fetchone()
    if row is None:
        raise NotReady(
            "la zone d'étude n'est pas chargée : lancez d'abord « geotranquil areas load »"
        )
    area = shapely_wkb.loads(bytes(row[0]))
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
    prepare: Callable[[ValidatedChunk], str],
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


def _utc_text(values: pd.Series) -> npt.NDArray[np.str_]:
    """UTC timestamps as ISO text for COPY (empty for NaT), vectorised."""
    raw = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    text = np.char.add(np.datetime_as_string(raw, unit="us"), "Z")
    return np.where(np.isnat(raw), "", text)


def _csv(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, header=False, index=False)
    return buf.getvalue()


def _new_events_csv(rows: pd.DataFrame, source_id: int, batch_id: int) -> str:
    """``COPY events (EVENT_COPY_COLUMNS)`` text of validated rows (empty when no rows)."""
    if not len(rows):
        return ""
    lon, lat = rows["lon"].to_numpy(), rows["lat"].to_numpy()
    located = ~np.isnan(lon)
    wkb = shapely.to_wkb(
        shapely.set_srid(shapely.points(lon[located], lat[located]), 4326),
        hex=True,
        include_srid=True,
    )
    geom = np.full(len(lon), "", dtype=object)
    geom[located] = wkb  # hex EWKB: the cheapest geometry input for the server to parse
    out = rows.assign(
        occurred_at=_utc_text(rows["occurred_at"]),
        reported_at=_utc_text(rows["reported_at"]),
        source_id=source_id,
        batch_id=batch_id,
        geom=geom,
    )
    return _csv(out[EVENT_COPY_COLUMNS])


def _write_chunk(
    conn: psycopg.Connection[Any],
    vc: ValidatedChunk,
    source_id: int,
    batch_id: int,
    update_sql: str,
    prepared: str | None = None,
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
    with conn.cursor() as cur:
        if len(rows):
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_NAMESPACE, source_id))
            # the identifiers travel as one JSON text: psycopg adapts a 50,000-item list in
            # Python, element by element (about 0.2 s per chunk, holding the GIL)
            cur.execute(
                "SELECT external_id FROM events WHERE source_id = %s AND external_id = ANY("
                "ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))",
                (source_id, json.dumps(rows["external_id"].tolist(), ensure_ascii=False)),
            )
            existing = {r[0] for r in cur.fetchall()}
            is_old = rows["external_id"].isin(existing).to_numpy()
            new = rows[~is_old]
            if len(new):
                text = (
                    prepared
                    if prepared is not None and not is_old.any()
                    else _new_events_csv(new, source_id, batch_id)
                )
                with cur.copy(
                    f"COPY events ({', '.join(EVENT_COPY_COLUMNS)}) FROM STDIN WITH (FORMAT csv)"
                ) as copy:
                    copy.write(text)
                inserted = len(new)
            old = rows[is_old].assign(
                occurred_at=lambda f: _utc_text(f["occurred_at"]),
                reported_at=lambda f: _utc_text(f["reported_at"]),
            )
            if len(old):
                cur.execute("TRUNCATE ingest_stage")
                with cur.copy(
                    f"COPY ingest_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN WITH (FORMAT csv)"
                ) as copy:
                    copy.write(_csv(old[STAGE_COLUMNS]))
                cur.execute(update_sql, {"source_id": source_id, "batch_id": batch_id})
                updated = cur.rowcount
        if vc.rejections:
            with cur.copy(
                "COPY ingest_rejections (batch_id, row_number, reason, detail, raw) FROM STDIN"
            ) as copy:
                for r in vc.rejections:
                    copy.write_row(
                        (batch_id, r.row_number, r.reason, r.detail, r.raw.replace("\x00", ""))
                    )
        unchanged = len(rows) - inserted - updated
        cur.execute(
            """
            UPDATE ingest_batches SET
                rows_committed = %(last)s, rows_read = %(last)s,
                inserted = inserted + %(ins)s, updated = updated + %(upd)s,
                unchanged = unchanged + %(same)s, rejected = rejected + %(rej)s,
                unlocated = unlocated + %(unloc)s
            WHERE id = %(id)s
            """,
            {
                "last": vc.last_row,
                "ins": inserted,
                "upd": updated,
                "same": unchanged,
                "rej": len(vc.rejections),
                "unloc": vc.unlocated,
                "id": batch_id,
            },
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

    A file already ingested completely for this source is skipped unless ``force``; an
    interrupted or failed one is resumed after its last committed chunk.
    """
    started = time.perf_counter()
    if not path.is_file():
        raise InvalidInput(f"fichier introuvable : {path}")
    sha = file_sha256(path)
    size = path.stat().st_size
    with psycopg.connect(dsn) as conn:
        source_id = upsert_source(conn, mapping)
        known = {r[0] for r in conn.execute("SELECT code FROM categories")}
        study_area = load_study_area(conn, study_area_buffer_m)
        conn.commit()
        lock_key = int.from_bytes(
            hashlib.sha256(f"{source_id}:{sha}".encode()).digest()[:8], "big", signed=True
        )
        if not conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key,)).fetchone()[0]:  # type: ignore[index]
            raise InvalidInput(f"{path.name} est déjà en cours d'ingestion par un autre processus")
        try:
            previous = conn.execute(
                "SELECT id, status, rows_committed FROM ingest_batches "
                "WHERE source_id = %s AND file_sha256 = %s ORDER BY id DESC LIMIT 1",
                (source_id, sha),
            ).fetchone()
            resume_from = 0
            if previous and previous[1] == "completed" and not force:
                summary = _summary(conn, int(previous[0]), mapping.slug, path.name, "skipped")
                summary.seconds = time.perf_counter() - started
                return summary
            if previous and previous[1] in ("running", "failed"):
                batch_id, resume_from = int(previous[0]), int(previous[2])
                conn.execute(
                    "UPDATE ingest_batches SET status = 'running', error = NULL, "
                    "resumed = resumed + 1 WHERE id = %s",
                    (batch_id,),
                )
            else:
                row = conn.execute(
                    "INSERT INTO ingest_batches (source_id, file_name, file_sha256, file_size) "
                    "VALUES (%s, %s, %s, %s) RETURNING id",
                    (source_id, path.name, sha, size),
                ).fetchone()
                assert row is not None
                batch_id = int(row[0])
            conn.commit()
            try:
                _run_chunks(
                    conn,
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
            except BaseException as exc:
                conn.rollback()
                conn.execute(
                    "UPDATE ingest_batches SET status = 'failed', error = %s WHERE id = %s",
                    (f"{type(exc).__name__}: {exc}"[:2000], batch_id),
                )
                conn.commit()
                raise
            conn.execute(
                "UPDATE ingest_batches SET status = 'completed', finished_at = now() WHERE id = %s",
                (batch_id,),
            )
            conn.commit()
            summary = _summary(conn, batch_id, mapping.slug, path.name, "completed")
            summary.resumed_from = resume_from
            summary.seconds = time.perf_counter() - started
            return summary
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key,))
            conn.commit()


def _run_chunks(
    conn: psycopg.Connection[Any],
    path: Path,
    mapping: SourceMapping,
    chunk_rows: int,
    known: set[str],
    study_area: BaseGeometry,
    source_id: int,
    batch_id: int,
    resume_from: int,
    size: int,
    progress: Progress | None,
) -> None:
    ctx = ValidationContext(
        known_categories=known, study_area=study_area, cameras=load_cameras(path, mapping)
    )
    conn.execute(_sql("stage.sql"))
    conn.commit()
    update_sql = _sql("update_events.sql")
    out: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()
    producer = threading.Thread(
        target=_produce,
        args=(
            read_chunks(path, mapping, chunk_rows),
            mapping,
            ctx,
            out,
            stop,
            lambda vc: _new_events_csv(vc.rows, source_id, batch_id),
        ),
        name="ingest-reader",
        daemon=True,
    )
    producer.start()
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
                _write_chunk(conn, vc, source_id, batch_id, update_sql, prepared)
                conn.commit()
            if progress:
                progress(vc.last_row, bytes_read, size)
    finally:
        stop.set()
        producer.join(timeout=5)


def _summary(
    conn: psycopg.Connection[Any], batch_id: int, slug: str, name: str, status: str
) -> IngestSummary:
    row = conn.execute(
        "SELECT rows_read, inserted, updated, unchanged, rejected, unlocated "
        "FROM ingest_batches WHERE id = %s",
        (batch_id,),
    ).fetchone()
    assert row is not None
    reasons = {
        str(r): int(n)
        for r, n in conn.execute(
            "SELECT reason, count(*) FROM ingest_rejections WHERE batch_id = %s "
            "GROUP BY reason ORDER BY reason",
            (batch_id,),
        )
    }
    return IngestSummary(
        batch_id=batch_id,
        source=slug,
        file_name=name,
        status=status,
        rows_read=int(row[0]),
        inserted=int(row[1]),
        updated=int(row[2]),
        unchanged=int(row[3]),
        rejected=int(row[4]),
        unlocated=int(row[5]),
        rejections_by_reason=reasons,
    )
