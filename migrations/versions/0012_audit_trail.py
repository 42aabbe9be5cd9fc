"""audit trail: an append-only, hash-chained log of who read or changed what

Every row is chained to the previous one: ``hash = sha256(prev_hash || canonical(row))``, where
``canonical`` is a JSON array of the row's fields rendered as text (``geotranquil.db.audit``
recomputes it independently to verify the chain). The insert trigger takes an advisory lock
held to the end of the transaction, then gives the row its id, its instant and its place in the
chain, so concurrent writers still build one chain in id order. UPDATE, DELETE and TRUNCATE
are refused by triggers.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: pg_advisory_xact_lock key of the chain's append ("audit" in ASCII)
LOCK_KEY = 0x6175646974

FUNCTIONS = f"""
CREATE SEQUENCE audit_log_id_seq AS bigint OWNED BY audit_log.id;

CREATE FUNCTION audit_log_canonical(a audit_log) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_array(
        a.id::text,
        to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        a.who, a.role, a.action, a.method, a.route, a.path,
        a.filters::text, a.bbox, a.rows::text, a.client
    )::text
$$;

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

CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'the audit trail only grows; its rows can be neither changed nor removed';
END;
$$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_chain();

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("who", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=True),
        sa.Column("route", sa.Text(), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("filters", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("bbox", sa.Text(), nullable=True),
        sa.Column("rows", sa.BigInteger(), nullable=True),
        sa.Column("client", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.Text(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_who_at"), "audit_log", ["who", "at"])
    op.create_index(op.f("ix_audit_log_action_at"), "audit_log", ["action", "at"])
    op.execute(FUNCTIONS)


def downgrade() -> None:
    op.execute("DROP FUNCTION audit_log_canonical(audit_log)")
    op.drop_table("audit_log")  # its triggers and sequence go with it
    op.execute("DROP FUNCTION audit_log_chain()")
    op.execute("DROP FUNCTION audit_log_append_only()")
