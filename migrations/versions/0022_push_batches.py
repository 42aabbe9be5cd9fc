"""partner keys bound to one source; batches pushed by partners (issue 16 §1)

``api_key_sources``: the one source a ``partner`` key may push to. (A link table rather than
a column of ``api_keys``: a foreign key from ``api_keys`` to ``sources`` would make every
``TRUNCATE sources CASCADE`` wipe the keys, and with them the zones they created.)
``push_batches``: one row per ``POST /sources/{source}/batches``, its spooled file, its state
and the ingest batch that the ``ingest_batch`` job fills; ``(source_id, key_id,
idempotency_key)`` is unique, so a retry never stores a second batch.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_key_sources",
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["api_keys.id"],
            name=op.f("fk_api_key_sources_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_api_key_sources_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_key_sources")),
    )
    op.create_table(
        "push_batches",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("spool_path", sa.Text(), nullable=False),
        sa.Column("format", sa.Text(), nullable=False),
        sa.Column("media_type", sa.Text(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), server_default=sa.text("'queued'"), nullable=False),
        sa.Column("ingest_batch_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_push_batches_state")
        ),
        sa.CheckConstraint(
            "format IN ('mapping', 'canonical')", name=op.f("ck_push_batches_format")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_push_batches_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["api_keys.id"],
            name=op.f("fk_push_batches_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ingest_batch_id"],
            ["ingest_batches.id"],
            name=op.f("fk_push_batches_ingest_batch_id_ingest_batches"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_batches")),
        sa.UniqueConstraint(
            "source_id",
            "key_id",
            "idempotency_key",
            name=op.f("uq_push_batches_source_id_key_id_idempotency_key"),
        ),
    )
    op.create_index(
        op.f("ix_push_batches_source_id_id"), "push_batches", ["source_id", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_push_batches_source_id_id"), table_name="push_batches")
    op.drop_table("push_batches")
    op.drop_table("api_key_sources")
