"""events.batch_id: a delete guard on ingest_batches instead of a per-row foreign key

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

GUARD = """
CREATE OR REPLACE FUNCTION ingest_batches_keep_lineage() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM events WHERE batch_id = OLD.id) THEN
        RAISE EXCEPTION 'ingest batch % still has events: delete or re-ingest them first', OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END;
$$;

CREATE TRIGGER ingest_batches_keep_lineage
BEFORE DELETE ON ingest_batches
FOR EACH ROW EXECUTE FUNCTION ingest_batches_keep_lineage();
"""


def upgrade() -> None:
    op.drop_constraint(op.f("fk_events_batch_id_ingest_batches"), "events", type_="foreignkey")
    op.execute(GUARD)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS ingest_batches_keep_lineage ON ingest_batches")
    op.execute("DROP FUNCTION IF EXISTS ingest_batches_keep_lineage()")
    op.execute(
        "UPDATE events SET batch_id = NULL WHERE batch_id NOT IN (SELECT id FROM ingest_batches)"
    )
    op.create_foreign_key(
        op.f("fk_events_batch_id_ingest_batches"),
        "events",
        "ingest_batches",
        ["batch_id"],
        ["id"],
        ondelete="SET NULL",
    )
