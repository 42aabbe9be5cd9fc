"""ingestion batches remember the mapping they were read with

Re-running the same file after its mapping was fixed must read it again: the duplicate check is
keyed on (source, file SHA-256, mapping SHA-256) and on the previous batch's outcome. Batches
written before this revision have no mapping hash (NULL) and count as read with the current one.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ingest_batches", sa.Column("mapping_sha256", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("ingest_batches", "mapping_sha256")
