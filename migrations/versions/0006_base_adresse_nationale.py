"""base adresse nationale: addresses, releases, geocoding results of events

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ban_releases",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("file_sha256", sa.Text(), nullable=False),
        sa.Column("rows_read", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("inserted", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("unchanged", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rejected", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("communes", sa.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column(
            "loaded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ban_releases")),
    )
    op.create_table(
        "ban_addresses",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("street_key", sa.Text(), nullable=False),
        sa.Column("numero", sa.Integer(), nullable=False),
        sa.Column("rep", sa.Text(), server_default="", nullable=False),
        sa.Column("nom_voie", sa.Text(), nullable=False),
        sa.Column("code_postal", sa.Text(), nullable=True),
        sa.Column("code_insee", sa.Text(), nullable=False),
        sa.Column("nom_commune", sa.Text(), nullable=False),
        sa.Column("nom_ancienne_commune", sa.Text(), nullable=True),
        sa.Column("alias", sa.Text(), nullable=True),
        sa.Column("nom_ld", sa.Text(), nullable=True),
        sa.Column("type_position", sa.Text(), nullable=True),
        sa.Column("source_position", sa.Text(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                "POINT",
                srid=4326,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=False,
        ),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["ban_releases.id"],
            name=op.f("fk_ban_addresses_release_id_ban_releases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ban_addresses")),
    )
    op.create_index(
        op.f("ix_ban_addresses_street_key_numero"), "ban_addresses", ["street_key", "numero"]
    )
    op.create_index(op.f("ix_ban_addresses_code_insee"), "ban_addresses", ["code_insee"])
    op.create_index(
        op.f("ix_ban_addresses_geom"), "ban_addresses", ["geom"], postgresql_using="gist"
    )
    op.create_table(
        "event_geocoding",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("precision", sa.Text(), nullable=True),
        sa.Column("matched", sa.Text(), nullable=True),
        sa.Column("interpolated", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("geocoder", sa.Text(), nullable=False),
        sa.Column("ban_release_id", sa.Integer(), nullable=True),
        sa.Column(
            "geocoded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "status IN ('placed', 'unplaced')", name=op.f("ck_event_geocoding_status")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_geocoding_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_event_geocoding")),
    )
    op.create_index(op.f("ix_event_geocoding_status"), "event_geocoding", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_event_geocoding_status"), table_name="event_geocoding")
    op.drop_table("event_geocoding")
    op.drop_index(
        op.f("ix_ban_addresses_geom"), table_name="ban_addresses", postgresql_using="gist"
    )
    op.drop_index(op.f("ix_ban_addresses_code_insee"), table_name="ban_addresses")
    op.drop_index(op.f("ix_ban_addresses_street_key_numero"), table_name="ban_addresses")
    op.drop_table("ban_addresses")
    op.drop_table("ban_releases")
