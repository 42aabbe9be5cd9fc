"""Ingest native files: resolve the source mapping, run the pipeline."""

from __future__ import annotations

from pathlib import Path

from geotranquil.config import Settings
from geotranquil.db.categories import category_codes
from geotranquil.db.engine import make_engine, psycopg_dsn
from geotranquil.db.maintenance import analyze_tables
from geotranquil.errors import MappingError
from geotranquil.ingest.mapping import SourceMapping, load_mapping, packaged_mappings
from geotranquil.ingest.pipeline import IngestSummary, Progress, ingest_file


def known_categories(settings: Settings) -> set[str]:
    """Codes of the categories in the database."""
    with make_engine(settings).connect() as conn:
        return category_codes(conn=conn)


def resolve_mapping(
    settings: Settings, source: str | None, mapping_file: Path | None
) -> SourceMapping:
    """The mapping given as a file, or a packaged one by its source slug."""
    known = known_categories(settings)
    if mapping_file is not None:
        return load_mapping(mapping_file, known)
    mappings = packaged_mappings(known)
    if source is None or source not in mappings:
        choices = ", ".join(sorted(mappings))
        raise MappingError(
            f"source « {source} » inconnue : choisissez parmi {choices} ou donnez --mapping FICHIER"
        )
    return mappings[source]


def ingest(
    settings: Settings,
    path: Path,
    mapping: SourceMapping,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> IngestSummary:
    """Ingest ``path`` with ``mapping`` (see :func:`geotranquil.ingest.pipeline.ingest_file`).

    The tables' statistics are refreshed afterwards (``ANALYZE``, a sample, about a second), so
    that tiles and pages are planned on the new data at once, not when autovacuum comes by.
    """
    # the pipeline holds a session lock on the file across its chunks' transactions: direct
    summary = ingest_file(
        psycopg_dsn(settings.direct_url),
        path,
        mapping,
        chunk_rows=settings.ingest_chunk_rows,
        study_area_buffer_m=settings.study_area_buffer_m,
        force=force,
        progress=progress,
    )
    if summary.status == "completed":
        with make_engine(settings).begin() as conn:
            analyze_tables(
                conn=conn,
                tables=("events", "event_keys", "ingest_batches")
                + (("ingest_rejections",) if summary.rejected else ()),
            )
    return summary
