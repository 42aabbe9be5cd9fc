"""audit trail: the hash chain is sealed apart from the insert, so readers never queue

Migration 0012 chained each row in its insert trigger under an advisory lock held to the end
of the inserting transaction: every audited read (each event tile, each items page) waited for
the previous one's commit, and N server workers served no faster than one. Now:

- ``audit_log`` stays insert-only (UPDATE, DELETE, TRUNCATE still refused). Its insert trigger
  only gives the row its id and instant, takes no lock, and queues the id in ``audit_pending``.
- ``audit_chain`` (seq, audit_id, prev_hash, hash) holds the chain, append-only too:
  ``hash = sha256(prev_hash || canonical(row))`` exactly as before, in seal order.
- ``audit_seal(wait)`` chains the queued rows in id order under the advisory lock. After each
  insert statement it runs with ``wait = false``: it takes the lock only if nobody holds it
  (``pg_try_advisory_xact_lock``) and otherwise returns at once, the holder or a later insert
  sealing what is left. The verifier seals with ``wait = true`` before it checks.

Existing rows keep their hashes: their (prev_hash, hash) move to ``audit_chain`` in id order.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

#: pg_advisory_xact_lock key of the chain (as in 0012: "audit" in ASCII)
LOCK_KEY = 0x6175646974

FUNCTIONS = f"""
CREATE FUNCTION audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'the audit trail only grows; its rows can be neither changed nor removed';
END;
$$;

CREATE FUNCTION audit_log_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.id := nextval('audit_log_id_seq');
    NEW.at := clock_timestamp();
    RETURN NEW;
END;
$$;

CREATE FUNCTION audit_log_queue() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_pending (audit_id) VALUES (NEW.id);
    RETURN NULL;
END;
$$;

CREATE FUNCTION audit_seal(wait boolean) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    head_seq bigint;
    head_hash text;
    ids bigint[];
    pending_id bigint;
    r audit_log;
    h text;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        -- a snapshot older than the last seal could chain a row twice: leave it to others
        IF wait THEN
            RAISE EXCEPTION 'audit_seal(true) needs a READ COMMITTED transaction';
        END IF;
        RETURN 0;
    END IF;
    IF wait THEN
        PERFORM pg_advisory_xact_lock({LOCK_KEY});
    ELSIF NOT pg_try_advisory_xact_lock({LOCK_KEY}) THEN
        RETURN 0;
    END IF;
    -- every statement below reads by primary key: sealing costs the same whatever the size
    -- of the trail (a join could be planned as a scan of audit_log)
    SELECT array_agg(audit_id ORDER BY audit_id) INTO ids FROM audit_pending;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    SELECT seq, hash INTO head_seq, head_hash FROM audit_chain ORDER BY seq DESC LIMIT 1;
    IF head_seq IS NULL THEN
        head_seq := 0;
        head_hash := repeat('0', 64);
    END IF;
    FOREACH pending_id IN ARRAY ids LOOP
        SELECT * INTO r FROM audit_log WHERE id = pending_id;
        IF FOUND THEN
            h := encode(sha256(convert_to(head_hash || audit_log_canonical(r), 'UTF8')), 'hex');
            head_seq := head_seq + 1;
            INSERT INTO audit_chain (seq, audit_id, prev_hash, hash)
            VALUES (head_seq, r.id, head_hash, h);
            head_hash := h;
        END IF;
    END LOOP;
    DELETE FROM audit_pending WHERE audit_id = ANY(ids);
    RETURN cardinality(ids);
END;
$$;

CREATE FUNCTION audit_log_seal() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM audit_seal(false);
    RETURN NULL;
END;
$$;

DROP TRIGGER audit_log_chain ON audit_log;
DROP FUNCTION audit_log_chain();

CREATE TRIGGER audit_log_stamp BEFORE INSERT ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_stamp();

CREATE TRIGGER audit_log_queue AFTER INSERT ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_queue();

CREATE TRIGGER audit_log_seal AFTER INSERT ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_seal();

CREATE TRIGGER audit_chain_no_update BEFORE UPDATE OR DELETE ON audit_chain
FOR EACH ROW EXECUTE FUNCTION audit_append_only();

CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
"""

DOWNGRADE_FUNCTIONS = f"""
CREATE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({LOCK_KEY});
    NEW.id := nextval('audit_log_id_seq');
    NEW.at := clock_timestamp();
    NEW.prev_hash := coalesce(
        (SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1), repeat('0', 64)
    );
    NEW.hash := encode(
        sha256(convert_to(NEW.prev_hash || audit_log_canonical(NEW), 'UTF8')), 'hex'
    );
    RETURN NEW;
END;
$$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
"""


def upgrade() -> None:
    op.create_table(
        "audit_chain",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("audit_id", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.Text(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_chain")),
        sa.UniqueConstraint("audit_id", name=op.f("uq_audit_chain_audit_id")),
    )
    op.create_table(
        "audit_pending",
        sa.Column("audit_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("audit_id", name=op.f("pk_audit_pending")),
    )
    op.execute(
        "INSERT INTO audit_chain (seq, audit_id, prev_hash, hash) "
        "SELECT row_number() OVER (ORDER BY id), id, prev_hash, hash FROM audit_log"
    )
    op.drop_column("audit_log", "prev_hash")
    op.drop_column("audit_log", "hash")
    op.execute(FUNCTIONS)


def downgrade() -> None:
    op.execute("SELECT audit_seal(true)")
    op.add_column("audit_log", sa.Column("prev_hash", sa.Text(), nullable=True))
    op.add_column("audit_log", sa.Column("hash", sa.Text(), nullable=True))
    op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
    op.execute(
        "UPDATE audit_log a SET prev_hash = c.prev_hash, hash = c.hash "
        "FROM audit_chain c WHERE c.audit_id = a.id"
    )
    op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update")
    op.alter_column("audit_log", "prev_hash", nullable=False)
    op.alter_column("audit_log", "hash", nullable=False)
    op.execute("DROP TRIGGER audit_log_stamp ON audit_log")
    op.execute("DROP TRIGGER audit_log_queue ON audit_log")
    op.execute("DROP TRIGGER audit_log_seal ON audit_log")
    op.drop_table("audit_pending")
    op.drop_table("audit_chain")
    op.execute("DROP FUNCTION audit_log_seal()")
    op.execute("DROP FUNCTION audit_seal(boolean)")
    op.execute("DROP FUNCTION audit_log_queue()")
    op.execute("DROP FUNCTION audit_log_stamp()")
    op.execute("DROP FUNCTION audit_append_only()")
    op.execute(DOWNGRADE_FUNCTIONS)
