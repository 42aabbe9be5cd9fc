"""residents' reports (Open311 GeoReport v2): requests, contacts, photos, history; agent role

Personal data (contacts, photos) live in their own tables, apart from the report and its
event, each row with the date after which ``geotranquil signalements purge`` deletes it.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

STATES = "'received', 'in_progress', 'resolved', 'rejected_duplicate', 'rejected_abuse'"


def _now() -> sa.sql.elements.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.drop_constraint(op.f("ck_api_keys_role"), "api_keys", type_="check")
    op.create_check_constraint(
        op.f("ck_api_keys_role"),
        "api_keys",
        "role IN ('admin', 'analyst', 'agent', 'planner', 'partner')",
    )
    op.create_table(
        "service_requests",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("service_request_id", sa.Text(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("service_code", sa.Text(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), server_default=sa.text("'open'"), nullable=False),
        sa.Column("state", sa.Text(), server_default=sa.text("'received'"), nullable=False),
        sa.Column("status_notes", sa.Text(), nullable=True),
        sa.Column("service_notice", sa.Text(), nullable=True),
        sa.Column("agency_responsible", sa.Text(), nullable=True),
        sa.Column(
            "requested_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("expected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("address_string", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            Geometry("POINT", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.Column("location_precision", sa.Text(), nullable=False),
        sa.Column("media_url", sa.Text(), nullable=True),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("duplicate_of", sa.BigInteger(), nullable=True),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_service_requests_status")),
        sa.CheckConstraint(f"state IN ({STATES})", name=op.f("ck_service_requests_state")),
        sa.CheckConstraint(
            "char_length(description) <= 4000", name=op.f("ck_service_requests_description_length")
        ),
        sa.ForeignKeyConstraint(
            ["service_code"],
            ["categories.code"],
            name=op.f("fk_service_requests_service_code_categories"),
            onupdate="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_service_requests_event_id_events"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of"],
            ["service_requests.id"],
            name=op.f("fk_service_requests_duplicate_of_service_requests"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_service_requests_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_requests")),
        sa.UniqueConstraint(
            "service_request_id", name=op.f("uq_service_requests_service_request_id")
        ),
        sa.UniqueConstraint("token", name=op.f("uq_service_requests_token")),
    )
    op.create_index(op.f("ix_service_requests_requested_at"), "service_requests", ["requested_at"])
    op.create_index(
        op.f("ix_service_requests_service_code_status_requested_at"),
        "service_requests",
        ["service_code", "status", "requested_at"],
    )
    op.create_index(
        op.f("ix_service_requests_geom"), "service_requests", ["geom"], postgresql_using="gist"
    )
    op.create_table(
        "service_request_contacts",
        sa.Column("request_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("delete_after", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_requests.id"],
            name=op.f("fk_service_request_contacts_request_id_service_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_service_request_contacts")),
    )
    op.create_index(
        op.f("ix_service_request_contacts_delete_after"),
        "service_request_contacts",
        ["delete_after"],
    )
    op.create_table(
        "service_request_media",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("mime_type", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("delete_after", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_requests.id"],
            name=op.f("fk_service_request_media_request_id_service_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_request_media")),
        sa.UniqueConstraint("request_id", name=op.f("uq_service_request_media_request_id")),
    )
    op.create_index(
        op.f("ix_service_request_media_delete_after"), "service_request_media", ["delete_after"]
    )
    op.create_table(
        "service_request_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("from_state", sa.Text(), nullable=True),
        sa.Column("to_state", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.Text(), nullable=True),
        sa.Column("key_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_requests.id"],
            name=op.f("fk_service_request_history_request_id_service_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["api_keys.id"],
            name=op.f("fk_service_request_history_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_request_history")),
    )
    op.create_index(
        op.f("ix_service_request_history_request_id_changed_at"),
        "service_request_history",
        ["request_id", "changed_at"],
    )


def downgrade() -> None:
    op.drop_table("service_request_history")
    op.drop_table("service_request_media")
    op.drop_table("service_request_contacts")
    op.drop_table("service_requests")
    op.execute("DELETE FROM api_keys WHERE role = 'agent'")
    op.drop_constraint(op.f("ck_api_keys_role"), "api_keys", type_="check")
    op.create_check_constraint(
        op.f("ck_api_keys_role"), "api_keys", "role IN ('admin', 'analyst', 'planner', 'partner')"
    )
