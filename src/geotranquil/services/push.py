"""Batches pushed by partners (issue 16 §1): who may push where, the spool, the batch rows,
their counts and rejections.

A pushed body is written to a spool file first (by the API, streamed), then one transaction
stores its ``push_batches`` row and queues its job, so either both exist or neither. The job
(:func:`geotranquil.services.push_run.run_batch`) creates the batch's ingest batch, runs the
same pipeline as ``geotranquil ingest`` into it (one committed chunk at a time: a worker killed
mid-way resumes after the last chunk), places its address-only events when a BAN is loaded,
refreshes the tables' statistics when the batch changed enough of them (as ``geotranquil
ingest`` does), marks the batch done and deletes its spool file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine

from geotranquil.config import Settings
from geotranquil.db import push as db
from geotranquil.db.batches import batch_format
from geotranquil.db.push import PushRow, SourceRow
from geotranquil.errors import Forbidden, InvalidInput, NotFound
from geotranquil.ingest.readers import record_word
from geotranquil.roles import Role
from geotranquil.services.access import Caller

__all__ = ["PushRow", "SourceRow"]

#: the most batches one listing returns
LIST_MAX = 500
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_\-.:]{8,200}$")
#: a deferral of the batch's job, run in the transaction that stores the batch's row
Defer = Callable[[Connection, int], None]


def spool_dir(settings: Settings) -> Path:
    """Where pushed bodies wait for their job (``push_spool_dir``, default under ``data_dir``)."""
    return settings.push_spool_dir or settings.data_dir / "push-spool"


#: an upload still unfinished after this long was cut (server killed mid-upload): deleted
STALE_UPLOAD_S = 24 * 3600


def new_spool_path(settings: Settings) -> Path:
    """A fresh file name in the spool directory (created if needed); uploads left unfinished
    for a day by a server that died are deleted on the way."""
    folder = spool_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    cut = time.time() - STALE_UPLOAD_S
    for old in folder.glob("*.part"):
        with contextlib.suppress(OSError):  # another server may be deleting it too
            if old.stat().st_mtime < cut:
                old.unlink()
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


REJECTION_COLUMNS = ("code", "message", "contenu")


def rejections_csv(engine: Engine, row: PushRow) -> Iterator[str]:
    """The batch's rejected records as CSV text, header first, in file order. The first
    column says what the number counts, as ``geotranquil rejects`` does: ``ligne`` for a CSV
    file (its physical line, the header being line 1), ``enregistrement`` otherwise (element
    of a JSON array, line of NDJSON, from 1)."""
    fmt = "json"
    if row.ingest_batch_id is not None and row.format == "mapping":
        with engine.connect() as conn:
            fmt = batch_format(conn=conn, batch_id=row.ingest_batch_id) or fmt
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow((record_word(fmt), *REJECTION_COLUMNS))
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
