"""residents' photos kept as files, their rows naming them

A photo's bytes in PostgreSQL cost about twice their size in WAL and stalled reports at each
checkpoint; new photos are files (``geotranquil.services.photo_store``) and their row names the
file (``file``) with ``content`` NULL. Rows written before keep their ``content`` and are read as
before; exactly one of the two is set.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("service_request_media", sa.Column("file", sa.Text(), nullable=True))
    op.alter_column("service_request_media", "content", nullable=True)
    op.create_check_constraint(
        "content_or_file",
        "service_request_media",
        "(content IS NULL) <> (file IS NULL)",
    )


def downgrade() -> None:
    op.drop_constraint("ck_service_request_media_content_or_file", "service_request_media")
    op.execute("DELETE FROM service_request_media WHERE content IS NULL")
    op.alter_column("service_request_media", "content", nullable=False)
    op.drop_column("service_request_media", "file")
