"""residents' photos stored uncompressed (JPEG does not compress: PostgreSQL stops trying)

With the default ``EXTENDED`` storage PostgreSQL tries to compress every photo before moving it
out of line, and fails (a JPEG is already compressed): about two thirds of the database's work
when a report carries a photo. ``EXTERNAL`` stores it out of line as it is.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE service_request_media ALTER COLUMN content SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.execute("ALTER TABLE service_request_media ALTER COLUMN content SET STORAGE EXTENDED")
