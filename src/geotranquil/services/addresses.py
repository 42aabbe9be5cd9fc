"""Load a Base Adresse Nationale file into ``ban_addresses``, release after release.

One transaction per chunk (``settings.ingest_chunk_rows`` rows) upserts the chunk's
addresses; the last transaction deletes the addresses of the file's communes that the file no
longer has and records the release. A failed or interrupted load therefore leaves the previous
addresses usable (some of them already refreshed, none deleted), and running the same command
again completes it. The same file twice is recognised by its SHA-256 and not read again unless
``force``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection

from geotranquil.config import Settings
from geotranquil.db import ban as ban_db
from geotranquil.db.engine import make_direct_engine
from geotranquil.db.maintenance import analyze_tables
from geotranquil.errors import InvalidInput
from geotranquil.geocode.ban import BanRejection, read_ban
from geotranquil.ingest.pipeline import file_sha256

Progress = Callable[[int, int, int], None]  # rows done, bytes done, total bytes

#: Rejections kept in the summary to show (all of them are counted).
_KEEP_REJECTIONS = 100


@dataclass
class BanLoadSummary:
    """What one load did; ``status`` is ``loaded`` or ``skipped`` (same file already loaded)."""

    release_id: int
    file_name: str
    status: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected: int = 0
    communes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rejections_by_reason: dict[str, int] = field(default_factory=dict)
    rejections: list[BanRejection] = field(default_factory=list)  # the first ones

    @property
    def accepted(self) -> int:
        """Rows stored: new, changed or confirmed."""
        return self.inserted + self.updated + self.unchanged


def load_ban(
    settings: Settings, path: Path, *, force: bool = False, progress: Progress | None = None
) -> BanLoadSummary:
    """Load a BAN CSV file (plain or ``.csv.gz``); see the module docstring for the guarantees.

    Parameters
    ----------
    settings
        Database URL and chunk size.
    path
        The BAN file (official format).
    force
        Read the file again even if this very file was loaded already.
    progress
        Called as ``progress(rows, bytes_done, total_bytes)`` after each chunk.

    Returns
    -------
    BanLoadSummary
        Counts of the load; for a file already loaded (``status`` "skipped"), every stored
        row counts as unchanged.
    """
    started = time.perf_counter()
    if not path.is_file():
        raise InvalidInput(f"fichier introuvable : {path}")
    sha = file_sha256(path)
    size = path.stat().st_size
    # a session lock held across the load's transactions, and COPY: a direct connection
    engine = make_direct_engine(settings)
    with engine.connect() as conn:
        if not ban_db.try_lock(conn=conn):
            raise InvalidInput(
                "un autre chargement de la Base Adresse Nationale est en cours ; "
                "réessayez quand il sera terminé"
            )
        conn.commit()
        try:
            previous = ban_db.release_of(conn=conn, sha256=sha)
            conn.commit()
            if previous is not None and not force:
                summary = BanLoadSummary(
                    release_id=previous.id,
                    file_name=path.name,
                    status="skipped",
                    rows_read=previous.rows_read,
                    unchanged=previous.rows_read - previous.rejected,
                    rejected=previous.rejected,
                    communes=previous.communes,
                )
            else:
                summary = _load(conn, path, sha, settings.ingest_chunk_rows, size, progress)
        finally:
            ban_db.unlock(conn=conn)
            conn.commit()
    if summary.status == "loaded":
        with engine.begin() as conn:
            analyze_tables(conn=conn, tables=("ban_addresses",))
    if progress:
        progress(summary.rows_read, size, size)
    summary.seconds = time.perf_counter() - started
    return summary


def _load(
    conn: Connection, path: Path, sha: str, chunk_rows: int, size: int, progress: Progress | None
) -> BanLoadSummary:
    """Read and write the file, one committed transaction per chunk, then finish the release."""
    release_id = ban_db.create_release(conn=conn, file_name=path.name, sha256=sha)
    conn.commit()
    summary = BanLoadSummary(release_id=release_id, file_name=path.name, status="loaded")
    communes: set[str] = set()
    rejected_ids: list[str] = []  # their previous version, if any, is kept
    try:
        for chunk in read_ban(path, chunk_rows):
            counts = ban_db.load_chunk(conn=conn, frame=chunk.frame, release_id=release_id)
            conn.commit()
            summary.rows_read += chunk.rows_read
            summary.inserted += counts.inserted
            summary.updated += counts.updated
            summary.unchanged += counts.unchanged
            summary.rejected += len(chunk.rejections)
            communes.update(chunk.frame["code_insee"].unique().tolist())
            for r in chunk.rejections:
                reasons = summary.rejections_by_reason
                reasons[r.reason] = reasons.get(r.reason, 0) + 1
                if len(summary.rejections) < _KEEP_REJECTIONS:
                    summary.rejections.append(r)
                if r.ban_id and r.reason != "duplicate_id":
                    rejected_ids.append(r.ban_id)
            if progress:
                progress(summary.rows_read, chunk.bytes_read, size)
        summary.communes = sorted(communes)
        summary.removed = ban_db.remove_missing(
            conn=conn, release_id=release_id, communes=summary.communes, keep_ids=rejected_ids
        )
        ban_db.finish_release(
            conn=conn,
            release_id=release_id,
            rows_read=summary.rows_read,
            inserted=summary.inserted,
            updated=summary.updated,
            unchanged=summary.unchanged,
            rejected=summary.rejected,
            communes=summary.communes,
        )
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return summary
