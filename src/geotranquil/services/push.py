"""Batches pushed by partners (issue 16 §1): who may push where, the spool, the batch rows,
and running one batch through the ingestion pipeline (the ``ingest_batch`` job).

A pushed body is written to a spool file first (by the API, streamed), then one transaction
stores its ``push_batches`` row and queues its job, so either both exist or neither. The job
creates the batch's ingest batch, runs the same pipeline as ``geotranquil ingest`` into it
(one committed chunk at a time: a worker killed mid-way resumes after the last chunk), marks
the batch done and deletes its spool file.
"""

from __future__ import annotations

import csv
import io
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine

from geotranquil.config import Settings
from geotranquil.db import push as db
from geotranquil.db.engine import psycopg_dsn
from geotranquil.db.push import PushRow, SourceRow
from geotranquil.errors import Forbidden, GeotranquilError, InvalidInput, NotFound
from geotranquil.ingest.canonical import MEDIA_FORMATS, canonical_mapping
from geotranquil.ingest.mapping import SourceMapping, parse_mapping
from geotranquil.ingest.resume import ingest_into_batch
from geotranquil.roles import Role
from geotranquil.services.access import Caller
from geotranquil.services.engine import open_engine

__all__ = ["PushRow", "SourceRow"]

#: the most batches one listing returns
LIST_MAX = 500
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_\-.:]{8,200}$")
#: a deferral of the batch's job, run in the transaction that stores the batch's row
Defer = Callable[[Connection, int], None]


def spool_dir(settings: Settings) -> Path:
    """Where pushed bodies wait for their job (``push_spool_dir``, default under ``data_dir``)."""
    return settings.push_spool_dir or settings.data_dir / "push-spool"


def new_spool_path(settings: Settings) -> Path:
    """A fresh file name in the spool directory (created if needed)."""
    folder = spool_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{uuid.uuid4().hex}.part"


def parse_idempotency_key(raw: str | None) -> str | None:
    """The ``Idempotency-Key`` header, checked; None when absent."""
    if raw is None or not raw.strip():
        return None
    key = raw.strip()
    if not _IDEMPOTENCY_KEY.match(key):
        raise InvalidInput(
            "clé d'idempotence invalide : 8 à 200 caractères parmi lettres, chiffres, - _ . :"
        )
    return key


def target_source(engine: Engine, caller: Caller, slug: str) -> SourceRow:
    """The source ``slug`` if the caller may push to it and read its batches.

    An unknown source is a 404 that names no other source; a partner key bound to another
    source (or to none) is a 403.
    """
    with engine.connect() as conn:
        source = db.source_by_slug(conn=conn, slug=slug[:200])
    if source is None:
        raise NotFound("source inconnue : vérifiez l'identifiant de la source dans l'adresse")
    if caller.role is Role.PARTNER and caller.source_id != source.id:
        raise Forbidden(
            "cette clé partenaire n'est pas liée à cette source : elle ne dépose et ne lit "
            "que les lots de sa propre source"
        )
    return source


def retried(engine: Engine, source: SourceRow, caller: Caller, key: str | None) -> PushRow | None:
    """The batch this caller already pushed with idempotency key ``key``, or None."""
    if key is None:
        return None
    with engine.connect() as conn:
        return db.by_idempotency_key(conn=conn, source_id=source.id, key_id=caller.key_id, key=key)


@dataclass(frozen=True)
class Spooled:
    """A body written to the spool: its file, size, checksum and what it holds."""

    path: Path
    size: int
    sha256: str
    format: str  # mapping | canonical
    media_type: str


def record(
    engine: Engine,
    *,
    source: SourceRow,
    caller: Caller,
    key: str | None,
    spooled: Spooled,
    defer: Defer,
) -> tuple[PushRow, bool]:
    """Store the batch's row and queue its job in one transaction; (the batch, whether it is
    new). A retry with an idempotency key already used returns the first batch, and its
    spool file is deleted."""
    final = spooled.path.with_suffix(".spool")
    with engine.begin() as conn:
        if key is not None:
            db.lock_retries(conn=conn, source_id=source.id, key_id=caller.key_id, key=key)
            before = db.by_idempotency_key(
                conn=conn, source_id=source.id, key_id=caller.key_id, key=key
            )
            if before is not None:
                spooled.path.unlink(missing_ok=True)
                return before, False
        os.replace(spooled.path, final)
        try:
            batch_id = db.insert(
                conn=conn,
                source_id=source.id,
                key_id=caller.key_id,
                idempotency_key=key,
                spool_path=str(final),
                format=spooled.format,
                media_type=spooled.media_type,
                size=spooled.size,
                sha256=spooled.sha256,
            )
            defer(conn, batch_id)
            row = db.get(conn=conn, batch_id=batch_id)
        except BaseException:
            final.unlink(missing_ok=True)
            raise
    assert row is not None
    return row, True


def batch_of(engine: Engine, source: SourceRow, batch_id: int) -> PushRow:
    """Batch ``batch_id`` of ``source`` (404 when it is another source's)."""
    with engine.connect() as conn:
        row = db.get(conn=conn, batch_id=batch_id) if 0 < batch_id < 2**31 else None
    if row is None or row.source_id != source.id:
        raise NotFound(f"lot {batch_id} introuvable pour la source {source.slug}")
    return row


def batches_of(engine: Engine, source: SourceRow, limit: int = 50) -> list[PushRow]:
    """The latest batches of ``source``, newest first."""
    if not 1 <= limit <= LIST_MAX:
        raise InvalidInput(f"limite {limit} : entre 1 et {LIST_MAX}")
    with engine.connect() as conn:
        return db.listing(conn=conn, source_id=source.id, limit=limit)


def rejections_by_reason(engine: Engine, row: PushRow) -> dict[str, int]:
    """The batch's rejected records by reason code."""
    if row.ingest_batch_id is None:
        return {}
    with engine.connect() as conn:
        return db.rejections_by_reason(conn=conn, ingest_batch_id=row.ingest_batch_id)


REJECTION_COLUMNS = ("enregistrement", "code", "message", "contenu")


def rejections_csv(engine: Engine, row: PushRow) -> Iterator[str]:
    """The batch's rejected records as CSV text, header first, in record order (numbered from
    1 in the pushed file: data rows of a CSV, elements of a JSON array, lines of NDJSON)."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(REJECTION_COLUMNS)
    yield buf.getvalue()
    buf.seek(0)
    buf.truncate()
    if row.ingest_batch_id is None:
        return
    with engine.connect() as conn:
        for n, record_ in enumerate(
            db.rejections(conn=conn, ingest_batch_id=row.ingest_batch_id), start=1
        ):
            out.writerow(record_)
            if n % 500 == 0:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()


def mapping_for(engine: Engine, source: SourceRow, fmt: str, media_type: str) -> SourceMapping:
    """How the batch's file reads: the source's declared mapping, or the canonical schema."""
    if fmt == "canonical":
        with engine.connect() as conn:
            codes = db.category_codes(conn=conn)
        return canonical_mapping(
            source.slug, source.name, codes, ndjson=MEDIA_FORMATS.get(media_type) == "jsonl"
        )
    if not source.mapping:
        raise InvalidInput(
            f"la source {source.slug} n'a pas de format de fichier déclaré : envoyez des "
            "événements au schéma canonique (application/json ou application/x-ndjson)"
        )
    return parse_mapping(source.mapping)


@dataclass(frozen=True)
class Outcome:
    """What running a batch did: its final state and the events it stored (new or changed)."""

    state: str
    stored: int


def run_batch(settings: Settings, batch_id: int) -> Outcome:
    """Run pushed batch ``batch_id`` through the pipeline (the job's body).

    A batch already done does nothing (its spool file is deleted if still there). A batch
    interrupted (worker killed) resumes after its last committed chunk. The file's own
    faults (unreadable, wrong format) leave the batch ``failed`` with a French message for
    good; any other error also marks it failed, then propagates so that the job is retried
    (with the backoff of :func:`geotranquil.jobs.common.retry_strategy`) and resumes.
    """
    engine = open_engine(settings)
    try:
        return _run(settings, engine, batch_id)
    finally:
        engine.dispose()


def _run(settings: Settings, engine: Engine, batch_id: int) -> Outcome:
    with engine.begin() as conn:
        row = db.get(conn=conn, batch_id=batch_id, for_update=True)
        if row is None:
            return Outcome("missing", 0)
        if row.state == "done":
            Path(row.spool_path).unlink(missing_ok=True)
            return Outcome("done", 0)
        source = db.source_by_id(conn=conn, source_id=row.source_id)
        assert source is not None
        ingest_id = row.ingest_batch_id or db.create_ingest_batch(
            conn=conn,
            source_id=row.source_id,
            file_name=f"lot-{row.id}",
            sha256=f"push:{row.sha256}",  # never taken for a file of `geotranquil ingest`
            size=row.bytes,
        )
        db.start(conn=conn, batch_id=batch_id, ingest_batch_id=ingest_id)
    try:
        mapping = mapping_for(engine, source, row.format, row.media_type)
        summary = ingest_into_batch(
            psycopg_dsn(settings.database_url),
            Path(row.spool_path),
            mapping,
            source_id=source.id,
            batch_id=ingest_id,
            chunk_rows=min(settings.ingest_chunk_rows, settings.push_chunk_rows),
            study_area_buffer_m=settings.study_area_buffer_m,
        )
    except InvalidInput as exc:  # the file's fault: running it again cannot help
        _finish(engine, batch_id, "failed", str(exc))
        return Outcome("failed", 0)
    except GeotranquilError as exc:  # e.g. the study area not loaded yet: retried
        _finish(engine, batch_id, "failed", str(exc))
        raise
    except Exception as exc:
        _finish(engine, batch_id, "failed", f"erreur pendant l'ingestion ({type(exc).__name__})")
        raise
    _finish(engine, batch_id, "done")
    Path(row.spool_path).unlink(missing_ok=True)
    return Outcome("done", summary.inserted + summary.updated)


def _finish(engine: Engine, batch_id: int, state: str, error: str | None = None) -> None:
    with engine.begin() as conn:
        db.finish(conn=conn, batch_id=batch_id, state=state, error=error)
