"""analyses that refresh themselves: the refreshes' log and the events' own version

``analysis_refreshes`` records each refresh of the served analyses (issue 16 §3). The global
``data_version`` moves with the runs the refresh itself writes, so it cannot tell whether the
analyses' inputs changed: ``data_version.events_version`` (and ``events_changed_at``) move only
when events are added, deleted or change time, category or place (a statement-level trigger
limited to those columns; purging an address does not move it).

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

#: the columns of ``events`` the analyses read
ANALYSED_COLUMNS = "category, occurred_at, geom, h3_fine, h3_r7, h3_r8, h3_r9, h3_r10"


def upgrade() -> None:
    op.add_column(
        "data_version",
        sa.Column("events_version", sa.BigInteger(), server_default=sa.text("1"), nullable=False),
    )
    op.add_column(
        "data_version",
        sa.Column(
            "events_changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
    )
    op.execute(
        """
        CREATE FUNCTION bump_events_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE data_version SET events_version = events_version + 1,
                   events_changed_at = now() WHERE id = 1;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER events_bump_events_version AFTER INSERT OR DELETE OR TRUNCATE OR "
        f"UPDATE OF {ANALYSED_COLUMNS} ON events FOR EACH STATEMENT "
        "EXECUTE FUNCTION bump_events_version()"
    )
    op.create_table(
        "analysis_refreshes",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("forced", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("data_version", sa.BigInteger(), nullable=False),
        sa.Column("data_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column(
            "runs",
            sa.dialects.postgresql.JSONB(),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "trigger IN ('data', 'schedule', 'manual')",
            name=op.f("ck_analysis_refreshes_trigger"),
        ),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'skipped', 'failed', 'interrupted')",
            name=op.f("ck_analysis_refreshes_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_refreshes")),
    )
    op.create_index(
        op.f("ix_analysis_refreshes_status_started_at"),
        "analysis_refreshes",
        ["status", "started_at"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_analysis_refreshes_status_started_at"), table_name="analysis_refreshes")
    op.drop_table("analysis_refreshes")
    op.execute("DROP TRIGGER IF EXISTS events_bump_events_version ON events")
    op.execute("DROP FUNCTION IF EXISTS bump_events_version()")
    op.drop_column("data_version", "events_changed_at")
    op.drop_column("data_version", "events_version")
