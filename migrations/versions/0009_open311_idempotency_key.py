"""residents' reports: an idempotency key per submission (offline retries stored once)

The mobile app queues a report while offline and retries it until it gets an answer; the key it
sends with every attempt makes the retries of one report store it once.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("service_requests", sa.Column("idempotency_key", sa.Text(), nullable=True))
    op.create_unique_constraint(
        op.f("uq_service_requests_idempotency_key"), "service_requests", ["idempotency_key"]
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("uq_service_requests_idempotency_key"), "service_requests", type_="unique"
    )
    op.drop_column("service_requests", "idempotency_key")
