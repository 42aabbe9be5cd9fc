"""forecast runs and their per-cell expectations

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forecast_runs",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("resolution", sa.SmallInteger(), nullable=False),
        sa.Column("origin", sa.Date(), nullable=False),
        sa.Column("period_days", sa.SmallInteger(), nullable=False),
        sa.Column("horizon", sa.SmallInteger(), nullable=False),
        sa.Column("categories", sa.ARRAY(sa.Text()), nullable=True),
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
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_runs")),
    )
    op.create_index(
        op.f("ix_forecast_runs_method_resolution_created_at"),
        "forecast_runs",
        ["method", "resolution", "created_at"],
    )
    op.create_table(
        "forecast_cells",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("h3", sa.BigInteger(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("area_share", sa.Float(), nullable=False),
        sa.Column("top_class", sa.SmallInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["forecast_runs.id"],
            name=op.f("fk_forecast_cells_run_id_forecast_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "h3", name=op.f("pk_forecast_cells")),
    )
    op.create_index(op.f("ix_forecast_cells_h3"), "forecast_cells", ["h3"])
    op.execute(
        "CREATE TRIGGER forecast_runs_bump_data_version AFTER INSERT OR UPDATE OR DELETE OR "
        "TRUNCATE ON forecast_runs FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS forecast_runs_bump_data_version ON forecast_runs")
    op.drop_index(op.f("ix_forecast_cells_h3"), table_name="forecast_cells")
    op.drop_table("forecast_cells")
    op.drop_index(op.f("ix_forecast_runs_method_resolution_created_at"), table_name="forecast_runs")
    op.drop_table("forecast_runs")
