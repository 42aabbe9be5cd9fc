"""hot spot runs and their per-cell results

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hotspot_runs",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("resolution", sa.SmallInteger(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("bin", sa.Text(), nullable=False),
        sa.Column("categories", sa.ARRAY(sa.Text()), nullable=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("neighbourhood", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "parameters",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "data_window",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("code_version", sa.Text(), nullable=False),
        sa.Column(
            "timings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("n_cells", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("bin IN ('day', 'week', 'month')", name=op.f("ck_hotspot_runs_bin")),
        sa.CheckConstraint(
            "kind IN ('gi_star', 'local_moran', 'emerging')", name=op.f("ck_hotspot_runs_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotspot_runs")),
    )
    op.create_index(
        op.f("ix_hotspot_runs_kind_resolution_created_at"),
        "hotspot_runs",
        ["kind", "resolution", "created_at"],
        unique=False,
    )
    op.create_table(
        "hotspot_cells",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("h3", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("z", sa.Float(), nullable=True),
        sa.Column("p", sa.Float(), nullable=True),
        sa.Column("p_sim", sa.Float(), nullable=True),
        sa.Column("significant", sa.Boolean(), nullable=True),
        sa.Column("gi_bin", sa.SmallInteger(), nullable=True),
        sa.Column("cluster", sa.Text(), nullable=True),
        sa.Column("pattern", sa.Text(), nullable=True),
        sa.Column("trend_z", sa.Float(), nullable=True),
        sa.Column("trend_p", sa.Float(), nullable=True),
        sa.Column("hot_bins", sa.SmallInteger(), nullable=True),
        sa.Column("cold_bins", sa.SmallInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["hotspot_runs.id"],
            name=op.f("fk_hotspot_cells_run_id_hotspot_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "h3", name=op.f("pk_hotspot_cells")),
    )
    op.create_index(op.f("ix_hotspot_cells_h3"), "hotspot_cells", ["h3"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_hotspot_cells_h3"), table_name="hotspot_cells")
    op.drop_table("hotspot_cells")
    op.drop_index(op.f("ix_hotspot_runs_kind_resolution_created_at"), table_name="hotspot_runs")
    op.drop_table("hotspot_runs")
