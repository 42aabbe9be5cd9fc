"""the candidates of an uncertain geocoding, kept for an analyst

An address whose best placement scores under ``GEOTRANQUIL_GEOCODE_MIN_SCORE`` leaves its event
"à géocoder"; its best few placements (label, position, score, precision) are kept as a JSON
array on the event's geocoding record, for ``geotranquil geocode review`` / ``pick`` (issue 17).
A JSONB column on ``event_geocoding`` rather than a table: the candidates are read and replaced
with that record, never queried one by one.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "event_geocoding",
        sa.Column("candidates", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("event_geocoding", "candidates")
