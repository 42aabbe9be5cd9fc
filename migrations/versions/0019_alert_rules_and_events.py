"""alerts ("veille"): analysts' rules, what fired, and each delivery's state

``alert_rules`` (zone by kind and code, categories, one condition, e-mail and/or webhook,
unsubscribe token), ``alert_events`` (one row per rule, condition and ISO week: the unique key
that keeps a re-run from alerting twice) and ``alert_deliveries`` (pending / sent / failed,
attempts and the time of the next one).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

CONDITIONS = (
    "new_hotspot",
    "intensifying_hotspot",
    "consecutive_hotspot",
    "forecast_top1",
    "count_exceeds",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), sa.Identity(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("zone_kind", sa.Text(), nullable=False),
        sa.Column("zone_code", sa.Text(), nullable=False),
        sa.Column(
            "categories",
            sa.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("condition", sa.Text(), nullable=False),
        sa.Column("n_weeks", sa.SmallInteger(), server_default=sa.text("8"), nullable=False),
        sa.Column("alpha", sa.Float(), server_default=sa.text("0.01"), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("webhook_secret", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("unsubscribe_token", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
        sa.UniqueConstraint("unsubscribe_token", name=op.f("uq_alert_rules_unsubscribe_token")),
        sa.CheckConstraint(_in("condition", CONDITIONS), name=op.f("ck_alert_rules_condition")),
        sa.CheckConstraint(
            _in("zone_kind", ("commune", "arrondissement", "quartier", "zone")),
            name=op.f("ck_alert_rules_zone_kind"),
        ),
        sa.CheckConstraint("n_weeks BETWEEN 1 AND 104", name=op.f("ck_alert_rules_n_weeks")),
        sa.CheckConstraint("alpha > 0 AND alpha < 1", name=op.f("ck_alert_rules_alpha")),
        sa.CheckConstraint(
            "email IS NOT NULL OR webhook_url IS NOT NULL", name=op.f("ck_alert_rules_delivery")
        ),
        sa.CheckConstraint(
            "(webhook_url IS NULL) = (webhook_secret IS NULL)",
            name=op.f("ck_alert_rules_webhook_secret"),
        ),
    )
    op.create_index(op.f("ix_alert_rules_owner"), "alert_rules", ["owner"])
    op.create_table(
        "alert_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("condition", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column(
            "cells",
            sa.ARRAY(sa.BigInteger()),
            server_default=sa.text("'{}'::bigint[]"),
            nullable=False,
        ),
        sa.Column("figures", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column(
            "fired_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_events")),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_alert_events_rule_id_alert_rules"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "rule_id", "condition", "period", name=op.f("uq_alert_events_rule_id_condition_period")
        ),
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["alert_events.id"],
            name=op.f("fk_alert_deliveries_event_id_alert_events"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "event_id", "channel", name=op.f("uq_alert_deliveries_event_id_channel")
        ),
        sa.CheckConstraint(
            _in("channel", ("email", "webhook")), name=op.f("ck_alert_deliveries_channel")
        ),
        sa.CheckConstraint(
            _in("state", ("pending", "sent", "failed")), name=op.f("ck_alert_deliveries_state")
        ),
    )
    op.create_index(
        op.f("ix_alert_deliveries_state_next_attempt_at"),
        "alert_deliveries",
        ["state", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_table("alert_deliveries")
    op.drop_table("alert_events")
    op.drop_table("alert_rules")
