"""Running one pushed batch through the ingestion pipeline: the body of the ``ingest_batch``
job (see :mod:`geotranquil.services.push` for the rest of the push's life)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.db import push as db
from geotranquil.db.categories import category_codes
from geotranquil.db.engine import psycopg_dsn
from geotranquil.db.maintenance import analyze_tables
from geotranquil.db.push import SourceRow
from geotranquil.errors import GeotranquilError, InvalidInput
from geotranquil.ingest.canonical import MEDIA_FORMATS, canonical_mapping
from geotranquil.ingest.mapping import SourceMapping, parse_mapping
from geotranquil.ingest.resume import ingest_into_batch
from geotranquil.services.engine import open_engine
from geotranquil.services.placing import needs_placing, place_batch


def mapping_for(engine: Engine, source: SourceRow, fmt: str, media_type: str) -> SourceMapping:
    """How the batch's file reads: the source's declared mapping, or the canonical schema."""
    if fmt == "canonical":
        with engine.connect() as conn:
            codes = sorted(category_codes(conn=conn))
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
            psycopg_dsn(settings.direct_url),  # session lock and staging table: direct
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
    stored = summary.inserted + summary.updated
    if needs_placing(summary):  # address-only events, when a BAN is loaded (as the CLI does)
        place_batch(engine, settings, summary)
    with engine.begin() as conn:
        if stored and db.worth_analyzing(conn=conn):
            analyze_tables(
                conn=conn,
                tables=("events", "event_keys", "ingest_batches")
                + (("ingest_rejections",) if summary.rejected else ()),
            )
    _finish(engine, batch_id, "done")
    Path(row.spool_path).unlink(missing_ok=True)
    return Outcome("done", stored)


def _finish(engine: Engine, batch_id: int, state: str, error: str | None = None) -> None:
    with engine.begin() as conn:
        db.finish(conn=conn, batch_id=batch_id, state=state, error=error)
