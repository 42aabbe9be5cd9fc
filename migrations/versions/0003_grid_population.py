"""grid_cells.population: residents spread from the arrondissements by area

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("grid_cells", sa.Column("population", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("grid_cells", "population")
