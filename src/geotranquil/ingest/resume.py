"""Ingesting a file into a batch created beforehand (a batch pushed by a partner).

The same pipeline as :func:`geotranquil.ingest.pipeline.ingest_file`, with the same kill -9
safety (one committed chunk at a time, resumed after the last one), but the batch is named by
the caller instead of being found by the file's checksum: two pushes of the same content are
two batches, and a batch run again after a crash resumes exactly itself.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import psycopg

from geotranquil.db import ingest as db
from geotranquil.errors import InvalidInput, NotFound
from geotranquil.ingest.mapping import SourceMapping
from geotranquil.ingest.pipeline import (
    BatchRun,
    IngestSummary,
    Progress,
    batch_summary,
    load_study_area,
    run_batch,
)


def ingest_into_batch(
    dsn: str,
    path: Path,
    mapping: SourceMapping,
    *,
    source_id: int,
    batch_id: int,
    chunk_rows: int = 50_000,
    study_area_buffer_m: float = 0.0,
    progress: Progress | None = None,
) -> IngestSummary:
    """Ingest ``path`` into ingest batch ``batch_id`` of ``source_id`` (the source's row and
    its declared mapping are left as they are); a completed batch is not run again."""
    started = time.perf_counter()
    if not path.is_file():
        raise InvalidInput(f"fichier du lot introuvable : {path.name}")
    with psycopg.connect(dsn) as conn:
        known = db.category_codes(conn=conn)
        study_area = load_study_area(conn, study_area_buffer_m)
        conn.commit()
        lock_key = int.from_bytes(
            hashlib.sha256(f"batch:{batch_id}".encode()).digest()[:8], "big", signed=True
        )
        if not db.try_lock(conn=conn, key=lock_key):
            raise InvalidInput(f"le lot {batch_id} est déjà en cours d'ingestion")
        try:
            state = db.batch_progress(conn=conn, batch_id=batch_id)
            if state is None:
                raise NotFound(f"lot d'ingestion {batch_id} introuvable")
            status, resume_from = state
            if status == "completed":
                summary = batch_summary(conn, batch_id, mapping.slug, path.name, "skipped")
                summary.seconds = time.perf_counter() - started
                return summary
            if resume_from or status == "failed":
                db.resume_batch(conn=conn, batch_id=batch_id)
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
                path.stat().st_size,
                progress,
            )
            return run_batch(conn, run, started)
        finally:
            db.unlock(conn=conn, key=lock_key)
            conn.commit()
