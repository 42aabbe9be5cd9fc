"""statistics from the registry: any run kind, per-statistic outputs without a migration

The kinds of hot-spot runs are the statistics of ``geotranquil.stats.registry``, checked by
the service before a run is stored: the CHECK that listed three of them goes. A statistic's
outputs that have no column of their own in ``hotspot_cells`` are kept in its ``outputs``
JSONB object (name -> value), typed on read from the registry's declaration.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint(op.f("ck_hotspot_runs_kind"), "hotspot_runs", type_="check")
    op.add_column(
        "hotspot_cells",
        sa.Column("outputs", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("hotspot_cells", "outputs")
    op.execute("DELETE FROM hotspot_runs WHERE kind NOT IN ('gi_star', 'local_moran', 'emerging')")
    op.create_check_constraint(
        op.f("ck_hotspot_runs_kind"),
        "hotspot_runs",
        "kind IN ('gi_star', 'local_moran', 'emerging')",
    )
