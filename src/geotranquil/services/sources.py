"""Bringing a new source: the canonical categories, and a dry run of a mapping on a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from geotranquil.config import Settings
from geotranquil.db import ingest as ingest_db
from geotranquil.db.batches import batch_format
from geotranquil.db.cells import list_categories
from geotranquil.db.engine import make_engine, psycopg_dsn
from geotranquil.ingest.dryrun import CheckReport, check_file
from geotranquil.ingest.mapping import load_mapping
from geotranquil.ingest.pipeline import load_cameras, load_study_area
from geotranquil.ingest.readers import record_word


def categories(settings: Settings) -> list[dict[str, Any]]:
    """The canonical categories (code, French label, family, public or not), in display order."""
    with make_engine(settings).connect() as conn:
        return list_categories(conn=conn)


def batch_record_word(settings: Settings, batch_id: int) -> str:
    """« ligne » when the batch's source is read as CSV, « enregistrement » otherwise."""
    with make_engine(settings).connect() as conn:
        fmt = batch_format(conn=conn, batch_id=batch_id)
    return record_word(fmt or "")


def check_source(
    settings: Settings, mapping_file: Path, data_file: Path, *, first_rows: int = 10
) -> CheckReport:
    """Check ``mapping_file`` on ``data_file`` as the ingestion would, writing nothing.

    The database is only read (categories, study area), on a read-only connection.
    """
    with psycopg.connect(psycopg_dsn(settings.direct_url)) as conn:
        conn.read_only = True
        known = ingest_db.category_codes(conn=conn)
        mapping = load_mapping(mapping_file, known)
        area = load_study_area(conn, settings.study_area_buffer_m)
        conn.rollback()
    return check_file(
        data_file,
        mapping,
        known_categories=known,
        study_area=area,
        cameras=load_cameras(data_file, mapping),
        first_rows=first_rows,
        chunk_rows=settings.ingest_chunk_rows,
    )
