"""An interrupted ingestion leaves whole chunks only, and the same file resumes where it stopped.

Three real interruptions, no mock: ``kill -9`` of the CLI process while a chunk is in flight, a
Ctrl-C (a real SIGINT to this process) between two chunks, and a file whose JSON breaks in the
middle.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.errors import InvalidInput
from geotranquil.ingest.pipeline import ingest_file

from .ingest_helpers import (
    INSIDE,
    PARIS,
    batch,
    batches,
    counts,
    mappings,
    reasons,
    scalar,
)

CATEGORIES = ("bruit", "dechets", "eclairage", "voirie", "tag", "stationnement", "rodeo")


def _good(i: int) -> dict[str, Any]:
    lon, lat = INSIDE[i % len(INSIDE)]
    return {
        "report_id": f"HAB-{i:06d}",
        "created": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00+01:00",
        "category": CATEGORIES[i % len(CATEGORIES)],
        "description": f"signalement {i}",
        "location": {"lon": lon + (i % 97) * 1e-5, "lat": lat + (i % 89) * 1e-5},
    }


def _bad(i: int, reason: str) -> Any:
    record = _good(i)
    if reason == "invalid_date":
        record["created"] = "hier soir"
    elif reason == "outside_study_area":
        record["location"] = {"lon": PARIS[0], "lat": PARIS[1]}
    elif reason == "unknown_category":
        record["category"] = "feu de camp"
    elif reason == "invalid_coordinates":
        record["location"] = {"lon": "n/a", "lat": 43.3}
    elif reason == "duplicate_id":
        record["report_id"] = _good(10)["report_id"]
    elif reason == "missing_location":
        del record["location"]
    elif reason == "malformed_row":
        return ["pas", "un", "objet"]
    else:
        raise AssertionError(reason)
    return record


def _records(total: int, bad: dict[int, str]) -> list[Any]:
    return [_bad(i, bad[i]) if i in bad else _good(i) for i in range(1, total + 1)]


def _good_ids(upto: int, bad: dict[int, str]) -> set[str]:
    return {_good(i)["report_id"] for i in range(1, upto + 1) if i not in bad}


def _event_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT external_id FROM events")).scalars())


def _assert_events_are(engine: Engine, expected: set[str]) -> None:
    ids = _event_ids(engine)
    assert len(ids) == len(set(ids)), "duplicate events"
    assert set(ids) == expected


# --- kill -9 of the command line while a chunk is in flight -----------------------------------

TOTAL = 60_000
CHUNK = 2_000
KILL_BAD = {
    777: "invalid_date",
    2000: "outside_study_area",  # last row of the first chunk
    2001: "unknown_category",  # first row of the second
    15_000: "invalid_coordinates",
    33_333: "duplicate_id",  # repeats row 10, long before: found again after a resume
    45_678: "malformed_row",
    59_999: "missing_location",
    60_000: "invalid_date",
}


def _wait(what: str, check: Callable[[], Any], timeout: float, log: Path | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.005)
    details = log.read_text(errors="replace")[-3000:] if log else ""
    raise AssertionError(f"timed out waiting for {what}\n{details}")


def test_kill_9_then_resume(
    clean_events: Engine, dsn: str, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "signalements.json"
    path.write_text(json.dumps(_records(TOTAL, KILL_BAD)), encoding="utf-8")
    log = tmp_path / "cli.log"
    env = {
        **os.environ,
        "GEOTRANQUIL_DATABASE_URL": settings.database_url,
        "GEOTRANQUIL_INGEST_CHUNK_ROWS": str(CHUNK),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "geotranquil.cli.main", "ingest", str(path), "-s", "habitants"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        with (
            psycopg.connect(dsn, autocommit=True) as watch,
            psycopg.connect(dsn) as locker,
        ):

            def first_commit() -> Any:
                if proc.poll() is not None:
                    raise AssertionError(f"the CLI ended early:\n{log.read_text()}")
                row = watch.execute(
                    "SELECT id, rows_committed FROM ingest_batches ORDER BY id DESC LIMIT 1"
                ).fetchone()
                return row if row and row[1] > 0 else None

            batch_id, _ = _wait("a first committed chunk", first_commit, 60, log)
            # Hold the batch row: the next chunk stages its events, then waits on its checkpoint.
            row = locker.execute(
                "SELECT rows_committed, status FROM ingest_batches WHERE id = %s FOR UPDATE",
                (batch_id,),
            ).fetchone()
            assert row is not None
            checkpoint, status = int(row[0]), row[1]
            assert status == "running" and 0 < checkpoint < TOTAL, (checkpoint, status)
            holder = watch.execute(
                "SELECT DISTINCT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            ).fetchall()
            assert len(holder) == 1, holder
            ingest_pid = holder[0][0]

            def blocked_mid_chunk() -> bool:
                r = watch.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (ingest_pid,)
                ).fetchone()
                return r is not None and r[0] == "Lock"

            _wait("the next chunk to wait on its checkpoint", blocked_mid_chunk, 30, log)

            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(timeout=10) == -signal.SIGKILL
            locker.rollback()  # the orphaned transaction may now run into the closed socket

            def backend_gone() -> bool:
                r = watch.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (ingest_pid,)
                ).fetchone()
                return r is not None and r[0] == 0

            _wait("the killed client's backend to end", backend_gone, 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    # whole chunks only: exactly the rows up to the checkpoint, nothing of the chunk in flight
    assert checkpoint % CHUNK == 0
    before = {n: r for n, r in KILL_BAD.items() if n <= checkpoint}
    b = batch(clean_events, batch_id)
    assert counts(b) == {
        "status": "running",
        "rows_read": checkpoint,
        "rows_committed": checkpoint,
        "inserted": checkpoint - len(before),
        "updated": 0,
        "unchanged": 0,
        "rejected": len(before),
        "unlocated": 0,
        "resumed": 0,
    }
    _assert_events_are(clean_events, _good_ids(checkpoint, KILL_BAD))
    assert reasons(clean_events) == set(before.items())

    summary = ingest_file(dsn, path, mappings(clean_events)["habitants"], chunk_rows=CHUNK)

    assert (summary.status, summary.batch_id, summary.resumed_from) == (
        "completed",
        batch_id,
        checkpoint,
    )
    assert len(batches(clean_events)) == 1
    assert counts(batch(clean_events, batch_id)) == {
        "status": "completed",
        "rows_read": TOTAL,
        "rows_committed": TOTAL,
        "inserted": TOTAL - len(KILL_BAD),
        "updated": 0,
        "unchanged": 0,
        "rejected": len(KILL_BAD),
        "unlocated": 0,
        "resumed": 1,
    }
    _assert_events_are(clean_events, _good_ids(TOTAL, KILL_BAD))
    assert reasons(clean_events) == set(KILL_BAD.items())
    assert b["started_at"] == batch(clean_events, batch_id)["started_at"]


# --- Ctrl-C between two chunks, then the same command again -----------------------------------

SMALL = 100
SMALL_BAD = {5: "invalid_date", 15: "outside_study_area", 25: "unknown_category",
             35: "duplicate_id", 61: "malformed_row"}  # fmt: skip


def _interrupted(engine: Engine, dsn: str, path: Path, after_row: int, chunk_rows: int) -> int:
    """Ingest until the chunk ending at ``after_row`` is committed, then press Ctrl-C."""

    def progress(rows: int, done: int, total: int) -> None:
        if rows == after_row:
            signal.raise_signal(signal.SIGINT)

    # Ctrl-C raises KeyboardInterrupt with Python's own handler, which a process started in
    # the background by a non-interactive shell does not have (SIGINT inherited as ignored)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            ingest_file(
                dsn, path, mappings(engine)["habitants"], chunk_rows=chunk_rows, progress=progress
            )
    finally:
        signal.signal(signal.SIGINT, previous)
    [b] = batches(engine)
    before = {n: r for n, r in SMALL_BAD.items() if n <= after_row}
    assert counts(b) == {
        "status": "failed",
        "rows_read": after_row,
        "rows_committed": after_row,
        "inserted": after_row - len(before),
        "updated": 0,
        "unchanged": 0,
        "rejected": len(before),
        "unlocated": 0,
        "resumed": 0,
    }
    assert b["error"].startswith("KeyboardInterrupt")
    _assert_events_are(engine, _good_ids(after_row, SMALL_BAD))
    assert reasons(engine) == set(before.items())
    return int(b["id"])


@pytest.mark.parametrize("resume_chunk", [10, 7], ids=["same-chunk-size", "other-chunk-size"])
def test_ctrl_c_then_resume(
    clean_events: Engine, dsn: str, tmp_path: Path, resume_chunk: int
) -> None:
    path = tmp_path / "signalements.json"
    path.write_text(json.dumps(_records(SMALL, SMALL_BAD)), encoding="utf-8")
    batch_id = _interrupted(clean_events, dsn, path, after_row=20, chunk_rows=10)

    # the setting GEOTRANQUIL_INGEST_CHUNK_ROWS may differ between the two runs
    summary = ingest_file(dsn, path, mappings(clean_events)["habitants"], chunk_rows=resume_chunk)

    assert (summary.status, summary.batch_id, summary.resumed_from) == ("completed", batch_id, 20)
    assert counts(batch(clean_events, batch_id)) == {
        "status": "completed",
        "rows_read": SMALL,
        "rows_committed": SMALL,
        "inserted": SMALL - len(SMALL_BAD),
        "updated": 0,
        "unchanged": 0,
        "rejected": len(SMALL_BAD),
        "unlocated": 0,
        "resumed": 1,
    }
    assert batch(clean_events, batch_id)["error"] is None
    _assert_events_are(clean_events, _good_ids(SMALL, SMALL_BAD))
    assert reasons(clean_events) == set(SMALL_BAD.items())


# --- a file whose JSON breaks in the middle ---------------------------------------------------


def test_json_broken_mid_file(clean_events: Engine, dsn: str, tmp_path: Path) -> None:
    bad = {7: "outside_study_area", 18: "invalid_date"}
    complete = _records(30, bad)
    broken = tmp_path / "coupe.json"
    # 25 whole records, then the transfer was cut and something else was appended
    broken.write_text(json.dumps(complete[:25])[:-1] + ', {"report_id": HAB-26', encoding="utf-8")
    mapping = mappings(clean_events)["habitants"]

    with pytest.raises(InvalidInput, match="JSON invalide après l'enregistrement 25"):
        ingest_file(dsn, broken, mapping, chunk_rows=10)

    [b] = batches(clean_events)
    failed_state = {
        "status": "failed",
        "rows_read": 20,
        "rows_committed": 20,
        "inserted": 18,
        "updated": 0,
        "unchanged": 0,
        "rejected": 2,
        "unlocated": 0,
        "resumed": 0,
    }
    assert counts(b) == failed_state
    assert b["error"].startswith("InvalidInput: coupe.json : JSON invalide")
    # the records of the unfinished chunk (21-25) are not written: whole chunks only
    _assert_events_are(clean_events, _good_ids(20, bad))
    assert reasons(clean_events) == set(bad.items())

    # the same broken file again: resumed after row 20, fails at the same place, no duplicate
    with pytest.raises(InvalidInput, match="JSON invalide"):
        ingest_file(dsn, broken, mapping, chunk_rows=10)
    assert counts(batch(clean_events, b["id"])) == {**failed_state, "resumed": 1}
    _assert_events_are(clean_events, _good_ids(20, bad))
    assert reasons(clean_events) == set(bad.items())

    # The repaired file is another file (another SHA-256): a new batch reads it from the start;
    # rows 1-20 are already there (unchanged), the rest is inserted; the failed batch stays failed
    # as the record of the broken delivery.
    repaired = tmp_path / "complet.json"
    repaired.write_text(json.dumps(complete), encoding="utf-8")
    summary = ingest_file(dsn, repaired, mapping, chunk_rows=10)

    assert summary.batch_id != b["id"] and summary.resumed_from == 0
    assert counts(batch(clean_events, summary.batch_id)) == {
        "status": "completed",
        "rows_read": 30,
        "rows_committed": 30,
        "inserted": 10,
        "updated": 0,
        "unchanged": 18,
        "rejected": 2,
        "unlocated": 0,
        "resumed": 0,
    }
    assert batch(clean_events, b["id"])["status"] == "failed"
    _assert_events_are(clean_events, _good_ids(30, bad))
    assert reasons(clean_events, summary.batch_id) == set(bad.items())
    assert scalar(clean_events, "SELECT count(*) FROM ingest_rejections") == 4
