"""residents' photos written in their own transaction before the report's

A 1 MB photo is about 1 MB of WAL to flush at commit. Written in the report's transaction, that
flush happened while the report held the locks every report shares (its service's duplicate
lock and the data version's row), so reports queued behind each other's photos. The photo is
now staged first (``request_id`` NULL, committed on its own, no lock held), and the report's
transaction only attaches it; a staged photo whose report never committed is deleted at its
``delete_after`` (one hour) by the retention purge.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("service_request_media", "request_id", nullable=True)
    op.create_index(
        "ix_service_request_media_staged",
        "service_request_media",
        ["delete_after"],
        postgresql_where="request_id IS NULL",
    )


def downgrade() -> None:
    op.drop_index("ix_service_request_media_staged", table_name="service_request_media")
    op.execute("DELETE FROM service_request_media WHERE request_id IS NULL")
    op.alter_column("service_request_media", "request_id", nullable=False)
