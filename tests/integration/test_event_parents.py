"""The references of ``events`` to ``sources`` and ``categories`` hold as the foreign keys
did (migration 0028 checks them once per statement): an event of a missing source or category
is refused on insert, COPY and update; a source or category still used cannot be deleted or
truncated; a renamed category code is followed by its events; and a source deleted while
another transaction writes its events waits for it, then is refused."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import errors
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from tests.event_plants import new_source, plant_events

AT = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)


def _source(engine: Engine, slug: str) -> int:
    """A source, and the partition of the month of :data:`AT` (written by SQL here)."""
    return new_source(engine, slug, months=(AT,))


def _event(engine: Engine, source: int, ext: str, category: str = "vol") -> None:
    plant_events(engine, source, [{"external_id": ext, "occurred_at": AT, "category": category}])


def _refused(engine: Engine, sql: str, match: str, **params: Any) -> BaseException | None:
    """Run ``sql`` in its own transaction; assert it fails with ``match``; the driver error."""
    with pytest.raises(IntegrityError, match=match) as refused, engine.begin() as conn:
        conn.execute(text(sql), params)
    return refused.value.orig


def _count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def test_an_event_of_a_missing_source_or_category_is_refused(clean_events: Engine) -> None:
    source = _source(clean_events, "parents")
    with pytest.raises(IntegrityError, match="fk_events_source_id_sources") as refused:
        _event(clean_events, source + 1000, "E1")
    assert isinstance(refused.value.orig, errors.ForeignKeyViolation)
    assert f"Key (source_id)=({source + 1000})" in str(refused.value.orig)
    with pytest.raises(IntegrityError, match="fk_events_category_categories") as refused:
        _event(clean_events, source, "E2", category="pas_une_categorie")
    assert "Key (category)=(pas_une_categorie)" in str(refused.value.orig)
    # one bad row among good ones refuses the whole statement
    with pytest.raises(IntegrityError):
        plant_events(
            clean_events,
            source,
            [
                {"external_id": "E3", "category": "vol", "occurred_at": AT},
                {"external_id": "E4", "category": "inconnue", "occurred_at": AT},
            ],
        )
    _event(clean_events, source, "E5")
    _refused(
        clean_events,
        "UPDATE events SET category = 'inconnue' WHERE external_id = 'E5'",
        "fk_events_category_categories",
    )
    _refused(
        clean_events,
        "UPDATE events SET source_id = -1 WHERE external_id = 'E5'",
        "fk_events_source_id_sources",
    )
    assert _count(clean_events, "SELECT count(*) FROM events") == 1


def test_a_copy_with_a_missing_category_is_refused(clean_events: Engine, dsn: str) -> None:
    source = _source(clean_events, "parents-copy")
    rows = [(source, f"C{i}", "vol", AT, "area") for i in range(50)]
    rows.append((source, "C50", "inexistante", AT, "area"))
    statement = (
        "COPY events (source_id, external_id, category, occurred_at, location_precision) FROM STDIN"
    )
    with psycopg.connect(dsn) as conn:
        with (
            pytest.raises(errors.ForeignKeyViolation, match="fk_events_category_categories"),
            conn.cursor().copy(statement) as copy,
        ):
            for row in rows:
                copy.write_row(row)
        conn.rollback()
    assert _count(clean_events, "SELECT count(*) FROM events") == 0


def test_a_used_source_or_category_cannot_be_deleted_or_truncated(clean_events: Engine) -> None:
    used = _source(clean_events, "used")
    unused = _source(clean_events, "unused")
    _event(clean_events, used, "U1", category="depot_sauvage")
    error = _refused(
        clean_events,
        "DELETE FROM sources WHERE id IN (:a, :b)",
        "still referenced",
        a=used,
        b=unused,
    )
    assert f"Key (id)=({used})" in str(error)
    _refused(clean_events, "UPDATE sources SET id = -id WHERE id = :a", "still referenced", a=used)
    _refused(
        clean_events,
        "DELETE FROM categories WHERE code = 'depot_sauvage'",
        "Key \\(code\\)=\\(depot_sauvage\\)",
    )
    for table in ("sources", "categories"):
        _refused(clean_events, f"TRUNCATE {table} CASCADE", f'cannot truncate "{table}"')
    with clean_events.begin() as conn:  # an unused source goes, the used one stays
        conn.execute(text("DELETE FROM sources WHERE id = :b"), {"b": unused})
    assert _count(clean_events, "SELECT count(*) FROM sources") == 1
    assert _count(clean_events, "SELECT count(*) FROM events WHERE source_id = :a", a=used) == 1


def test_a_renamed_category_is_followed_by_its_events(clean_events: Engine) -> None:
    source = _source(clean_events, "rename")
    with clean_events.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO categories (code, label, family, family_label) "
                "SELECT 'essai_renomme', label, family, family_label FROM categories "
                "WHERE code = 'vol'"
            )
        )
    _event(clean_events, source, "R1", category="essai_renomme")
    _event(clean_events, source, "R2", category="vol")
    try:
        with clean_events.begin() as conn:
            conn.execute(
                text("UPDATE categories SET code = 'essai_nouveau' WHERE code = 'essai_renomme'")
            )
        with clean_events.connect() as conn:
            got = dict(conn.execute(text("SELECT external_id, category FROM events")).all())
        assert got == {"R1": "essai_nouveau", "R2": "vol"}
    finally:
        with clean_events.begin() as conn:
            conn.execute(text("DELETE FROM events"))
            conn.execute(text("DELETE FROM categories WHERE code LIKE 'essai_%'"))


def test_a_source_deleted_while_its_events_are_written_waits_then_is_refused(
    clean_events: Engine, dsn: str
) -> None:
    source = _source(clean_events, "race")
    outcome: dict[str, Any] = {}
    with psycopg.connect(dsn) as writer:
        writer.execute(
            "INSERT INTO events (source_id, external_id, category, occurred_at, "
            "location_precision) VALUES (%s, 'W1', 'vol', %s, 'area')",
            (source, AT),
        )  # not committed: the source is locked FOR KEY SHARE by the check

        def delete() -> None:
            try:
                with psycopg.connect(dsn, autocommit=True) as deleter:
                    outcome["pid"] = deleter.info.backend_pid
                    deleter.execute("DELETE FROM sources WHERE id = %s", (source,))
                outcome["error"] = None
            except psycopg.Error as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=delete)
        thread.start()
        deadline = time.monotonic() + 60
        waiting = False
        with psycopg.connect(dsn, autocommit=True) as watcher:  # a fresh view each query
            while time.monotonic() < deadline and not waiting:
                pid = outcome.get("pid")
                if pid is not None:
                    row = watcher.execute(
                        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
                    ).fetchone()
                    waiting = row is not None and row[0] == "Lock"
                if not waiting:
                    time.sleep(0.05)
        assert waiting, "the DELETE of the source should wait for the writer's lock"
        writer.commit()
    thread.join(timeout=60)
    assert isinstance(outcome["error"], errors.ForeignKeyViolation)
    assert _count(clean_events, "SELECT count(*) FROM events WHERE source_id = :s", s=source) == 1
