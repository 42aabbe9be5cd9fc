"""The audit trail in the database: append-only (UPDATE, DELETE, TRUNCATE refused), one valid
hash chain under concurrent writers, and tampering by a superuser found by
``geotranquil audit verify`` at the row changed or removed."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from geotranquil.cli.main import app
from geotranquil.config import Settings
from geotranquil.db.audit import row_hash
from geotranquil.roles import Role
from geotranquil.services import audit
from geotranquil.services.access import Caller
from tests.audit_helpers import last_id, rows_after

ANALYST = Caller(Role.ANALYST, key_id=41, key_name="test")


def _verifier(settings: Settings) -> tuple[int, str]:
    out = CliRunner().invoke(
        app,
        ["audit", "verify"],
        env={"GEOTRANQUIL_DATABASE_URL": settings.database_url, "COLUMNS": "200"},
    )
    return out.exit_code, out.output


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one())


@contextmanager
def _trigger_off(conn: Connection, trigger: str, table: str = "audit_log") -> Iterator[None]:
    """What a superuser can do: switch a table's trigger (or all: USER) off for a moment."""
    conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
    try:
        yield
    finally:
        conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"))


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("UPDATE audit_log SET rows = 0 WHERE id = :i", "UPDATE"),
        ("DELETE FROM audit_log WHERE id = :i", "DELETE"),
        ("TRUNCATE audit_log", "TRUNCATE"),
    ],
)
def test_rows_can_be_neither_changed_nor_removed(
    engine: Engine, statement: str, operation: str
) -> None:
    row = audit.record(engine, caller=ANALYST, action="read_events", rows=5)
    refused = f"audit_log is append-only: {operation} refused"
    with pytest.raises(DBAPIError, match=refused), engine.begin() as conn:
        conn.execute(text(statement), {"i": row.id})
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT rows FROM audit_log WHERE id = :i"), {"i": row.id})
        assert kept.scalar_one() == 5


def test_one_valid_chain_under_concurrent_writers(engine: Engine, settings: Settings) -> None:
    threads, each = 8, 25
    before, count_before = last_id(engine), _count(engine)
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(each):
                audit.record(
                    engine,
                    caller=Caller(Role.ANALYST, key_id=100 + n),
                    action="read_events",
                    filters={"writer": str(n), "i": str(i)},
                    rows=i,
                )
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    added = rows_after(engine, before)
    assert len(added) == threads * each == _count(engine) - count_before
    assert [r["id"] for r in added] == list(range(before + 1, before + 1 + threads * each))
    assert {r["who"] for r in added} == {f"key:{100 + n}" for n in range(threads)}
    result = audit.verify(engine)
    assert result.intact and result.rows == _count(engine)
    with engine.connect() as conn:  # one link per row, numbered without a gap
        links = conn.execute(text("SELECT count(*), max(seq) FROM audit_chain")).one()
        pending = conn.execute(text("SELECT count(*) FROM audit_pending")).scalar_one()
    assert tuple(links) == (_count(engine), _count(engine)) and pending == 0
    code, out = _verifier(settings)
    assert code == 0, out
    assert f"chaîne intacte, {_count(engine)} lignes" in out


def test_a_changed_row_and_a_removed_row_are_found_by_the_verifier(
    engine: Engine, settings: Settings
) -> None:
    rows = [
        audit.record(engine, caller=ANALYST, action="read_events", rows=n, client="10.0.0.1")
        for n in range(4)
    ]
    assert _verifier(settings)[0] == 0
    target, after = rows[1], rows[2]
    with engine.begin() as conn, _trigger_off(conn, "audit_log_no_update"):  # a superuser
        conn.execute(text("UPDATE audit_log SET rows = 0 WHERE id = :i"), {"i": target.id})
    try:
        code, out = _verifier(settings)
        assert code == 1
        assert f"altéré à la ligne n° {target.id} : contenu modifié" in out
        result = audit.verify(engine)
        assert (result.broken_id, result.rows) == (target.id, target.id - 1)
    finally:
        with engine.begin() as conn, _trigger_off(conn, "audit_log_no_update"):
            conn.execute(
                text("UPDATE audit_log SET rows = :n WHERE id = :i"),
                {"n": target.rows, "i": target.id},
            )
    assert _verifier(settings)[0] == 0

    # a row removed: its link stays and says which
    saved = {k: v for k, v in after.__dict__.items() if k not in ("prev_hash", "hash")}
    with engine.begin() as conn, _trigger_off(conn, "audit_log_no_update"):
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": after.id})
    try:
        code, out = _verifier(settings)
        assert code == 1
        assert f"altéré à la ligne n° {after.id} : ligne retirée" in out
    finally:
        _insert_as_superuser(engine, saved)
    assert _verifier(settings)[0] == 0

    # a link removed from the chain: the next link no longer follows
    with engine.connect() as conn:
        link = dict(
            conn.execute(text("SELECT * FROM audit_chain WHERE audit_id = :i"), {"i": target.id})
            .one()
            ._mapping
        )
    with engine.begin() as conn, _trigger_off(conn, "audit_chain_no_update", "audit_chain"):
        conn.execute(text("DELETE FROM audit_chain WHERE seq = :s"), {"s": link["seq"]})
    try:
        code, out = _verifier(settings)
        assert code == 1
        assert f"altéré à la ligne n° {after.id} : chaînage rompu" in out
    finally:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_chain (seq, audit_id, prev_hash, hash) "
                    "VALUES (:seq, :audit_id, :prev_hash, :hash)"
                ),
                link,
            )
    assert _verifier(settings)[0] == 0


def _insert_as_superuser(engine: Engine, row: dict[str, object]) -> None:
    """Put a row back as it was, its triggers off (no new id, no queueing)."""
    with engine.begin() as conn, _trigger_off(conn, "USER"):
        conn.execute(
            text(
                "INSERT INTO audit_log (id, at, who, role, action, method, route, path, "
                "filters, bbox, rows, client) VALUES (:id, :at, :who, :role, :action, :method, "
                ":route, :path, CAST(:filters AS jsonb), :bbox, :rows, :client)"
            ),
            row,
        )


def test_a_row_slipped_in_outside_the_chain_is_found(engine: Engine, settings: Settings) -> None:
    """A superuser inserting a row with the triggers off (no queueing) leaves it unchained."""
    row = audit.record(engine, caller=ANALYST, action="read_events", rows=1)
    slipped = {**{k: v for k, v in row.__dict__.items() if k not in ("prev_hash", "hash")}}
    slipped["id"] = row.id + 1_000_000
    _insert_as_superuser(engine, slipped)
    try:
        code, out = _verifier(settings)
        assert code == 1
        assert f"altéré à la ligne n° {slipped['id']} : ligne hors de la chaîne" in out
    finally:
        with engine.begin() as conn, _trigger_off(conn, "audit_log_no_update"):
            conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": slipped["id"]})
    assert _verifier(settings)[0] == 0


def test_a_writer_never_waits_for_the_sealer(engine: Engine) -> None:
    """While another transaction holds the chain's lock, a row is still written at once (left
    queued, unhashed); the next insert after the lock is released seals both, in id order."""
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_xact_lock(x'6175646974'::bigint)"))
        with engine.connect() as conn, conn.begin():
            conn.execute(text("SET LOCAL lock_timeout = '60s'"))  # a wait ends in an error
            queued = audit.record(conn, caller=ANALYST, action="read_events", rows=2)
        assert (queued.prev_hash, queued.hash) == (None, None)
        holder.rollback()  # releases the lock
    sealed = audit.record(engine, caller=ANALYST, action="read_events", rows=3)
    assert sealed.hash is not None
    with engine.connect() as conn:
        links = conn.execute(
            text("SELECT audit_id, hash FROM audit_chain WHERE audit_id IN (:a, :b) ORDER BY seq"),
            {"a": queued.id, "b": sealed.id},
        ).fetchall()
    assert [r.audit_id for r in links] == [queued.id, sealed.id]
    assert links[1].hash == sealed.hash
    assert audit.verify(engine).intact


def test_the_chain_rows_are_hashed_as_the_verifier_recomputes(engine: Engine) -> None:
    """The database's trigger and the Python verifier agree on every kind of value."""
    row = audit.record(
        engine,
        caller=Caller(Role.AGENT, subject="agent.dupont@marseille.fr"),
        action="read_personal_data",
        route=audit.Route("GET", "/signalements", "/signalements"),
        filters=[
            ("q", 'guillemets " et \\ barre, é, \n, \t, \x01, \\u0000'),
            ("nul", "a\x00b"),
            ("api_key", "gtq_x"),
        ],
        bbox=(5.37, 43.29, 5.38, 43.3),
        rows=12,
        client="2001:db8::1",
    )
    assert row.who == "sso:agent.dupont@marseille.fr"
    assert "api_key" not in row.filters and "gtq_x" not in row.filters
    assert json.loads(row.filters)["nul"] == "a\ufffdb"  # jsonb holds no NUL
    assert audit.verify(engine).intact
    assert row.hash is not None and row_hash(row) == row.hash


def test_a_role_given_by_other_groups_is_recorded_as_changed(engine: Engine) -> None:
    """The provider's groups decide a person's role at each sign-in: a different role than at
    the previous sign-in is recorded (from, to) before the sign-in itself."""
    subject = f"agent.{uuid.uuid4().hex[:8]}@marseille.fr"
    before = last_id(engine)
    assert audit.record_sign_in(engine, caller=Caller(Role.AGENT, subject=subject)) is False
    assert audit.record_sign_in(engine, caller=Caller(Role.AGENT, subject=subject)) is False
    assert audit.record_sign_in(engine, caller=Caller(Role.ANALYST, subject=subject)) is True
    rows = rows_after(engine, before)
    assert [(r["action"], r["role"]) for r in rows] == [
        ("signed_in", "agent"),
        ("signed_in", "agent"),
        ("role_changed", "analyst"),
        ("signed_in", "analyst"),
    ]
    assert rows[2]["filters"] == {"from": "agent", "to": "analyst"}
    assert {r["who"] for r in rows} == {f"sso:{subject}"}
    assert audit.verify(engine).intact
