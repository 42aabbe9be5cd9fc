"""event store, reference areas and H3 grid

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


H3_FUNCTIONS = """
-- H3 cell ids are stored as BIGINT (the top bit of an H3 index is always 0).
-- Bits 52-55 hold the resolution; resolution r's digit sits at bits 3*(15-r) .. 3*(15-r)+2;
-- unused digits are all ones (7). A parent is the same id with a lower resolution and the
-- digits below it set to 7: a few bit operations, no extension needed.
CREATE OR REPLACE FUNCTION h3_resolution(cell bigint) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ((cell >> 52) & 15)::integer;

CREATE OR REPLACE FUNCTION h3_parent(cell bigint, res integer) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE
    WHEN res < 0 OR res > ((cell >> 52) & 15) THEN NULL
    ELSE (cell & ~(15::bigint << 52)) | (res::bigint << 52)
         | ((1::bigint << (3 * (15 - res))) - 1)
END;
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(H3_FUNCTIONS)
    op.create_geospatial_table(
        "areas",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_code", sa.Text(), nullable=True),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('commune', 'arrondissement', 'quartier', 'zone')", name=op.f("ck_areas_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_areas")),
        sa.UniqueConstraint("kind", "code", name=op.f("uq_areas_kind_code")),
    )
    op.create_geospatial_index(
        op.f("ix_areas_geom"),
        "areas",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "categories",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("family", sa.Text(), nullable=False),
        sa.Column("family_label", sa.Text(), nullable=False),
        sa.Column("public", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("sort_order", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_categories")),
    )
    op.create_geospatial_table(
        "grid_cells",
        sa.Column("h3", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("resolution", sa.SmallInteger(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("land_share", sa.Float(), nullable=False),
        sa.Column("arrondissement_code", sa.Text(), nullable=True),
        sa.Column("quartier_code", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("h3", name=op.f("pk_grid_cells")),
    )
    op.create_index(
        op.f("ix_grid_cells_arrondissement_code"),
        "grid_cells",
        ["arrondissement_code"],
        unique=False,
    )
    op.create_geospatial_index(
        op.f("ix_grid_cells_geom"),
        "grid_cells",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_grid_cells_resolution"), "grid_cells", ["resolution"], unique=False)
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=True),
        sa.Column(
            "mapping",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('file', 'api', 'open311', 'sensor')", name=op.f("ck_sources_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("slug", name=op.f("uq_sources_slug")),
    )
    op.create_table(
        "ingest_batches",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("file_sha256", sa.Text(), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'running'"), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows_read", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rows_committed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("inserted", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("unchanged", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rejected", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("unlocated", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("resumed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'failed')", name=op.f("ck_ingest_batches_status")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_ingest_batches_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_batches")),
    )
    op.create_index(
        op.f("ix_ingest_batches_source_id_file_sha256"),
        "ingest_batches",
        ["source_id", "file_sha256"],
        unique=False,
    )
    op.create_geospatial_table(
        "events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("native_category", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("h3_fine", sa.BigInteger(), nullable=True),
        sa.Column("h3_r7", sa.BigInteger(), nullable=True),
        sa.Column("h3_r8", sa.BigInteger(), nullable=True),
        sa.Column("h3_r9", sa.BigInteger(), nullable=True),
        sa.Column("h3_r10", sa.BigInteger(), nullable=True),
        sa.Column("location_precision", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column(
            "ingested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "location_precision IN ('exact', 'address', 'street', 'camera', 'area')",
            name=op.f("ck_events_location_precision"),
        ),
        sa.CheckConstraint(
            "(geom IS NULL) = (h3_fine IS NULL)", name=op.f("ck_events_located_consistently")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["ingest_batches.id"],
            name=op.f("fk_events_batch_id_ingest_batches"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["category"],
            ["categories.code"],
            name=op.f("fk_events_category_categories"),
            onupdate="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_events_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint(
            "source_id", "external_id", name=op.f("uq_events_source_id_external_id")
        ),
    )
    op.create_index(
        op.f("ix_events_category_occurred_at"), "events", ["category", "occurred_at"], unique=False
    )
    op.create_geospatial_index(
        op.f("ix_events_geom"),
        "events",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_events_h3_r10_occurred_at"), "events", ["h3_r10", "occurred_at"], unique=False
    )
    op.create_index(
        op.f("ix_events_h3_r9_occurred_at"), "events", ["h3_r9", "occurred_at"], unique=False
    )
    op.create_index(op.f("ix_events_occurred_at"), "events", ["occurred_at"], unique=False)
    op.create_index(
        "ix_events_unlocated",
        "events",
        ["source_id"],
        unique=False,
        postgresql_where=sa.text("geom IS NULL"),
    )
    op.create_table(
        "ingest_rejections",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["ingest_batches.id"],
            name=op.f("fk_ingest_rejections_batch_id_ingest_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_rejections")),
        sa.UniqueConstraint(
            "batch_id", "row_number", name=op.f("uq_ingest_rejections_batch_id_row_number")
        ),
    )
    op.create_index(
        op.f("ix_ingest_rejections_reason"), "ingest_rejections", ["reason"], unique=False
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS h3_parent(bigint, integer)")
    op.execute("DROP FUNCTION IF EXISTS h3_resolution(bigint)")
    op.drop_index(op.f("ix_ingest_rejections_reason"), table_name="ingest_rejections")
    op.drop_table("ingest_rejections")
    op.drop_index(
        "ix_events_unlocated", table_name="events", postgresql_where=sa.text("geom IS NULL")
    )
    op.drop_index(op.f("ix_events_occurred_at"), table_name="events")
    op.drop_index(op.f("ix_events_h3_r9_occurred_at"), table_name="events")
    op.drop_index(op.f("ix_events_h3_r10_occurred_at"), table_name="events")
    op.drop_geospatial_index(
        op.f("ix_events_geom"), table_name="events", postgresql_using="gist", column_name="geom"
    )
    op.drop_index(op.f("ix_events_category_occurred_at"), table_name="events")
    op.drop_geospatial_table("events")
    op.drop_index(op.f("ix_ingest_batches_source_id_file_sha256"), table_name="ingest_batches")
    op.drop_table("ingest_batches")
    op.drop_table("sources")
    op.drop_index(op.f("ix_grid_cells_resolution"), table_name="grid_cells")
    op.drop_geospatial_index(
        op.f("ix_grid_cells_geom"),
        table_name="grid_cells",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_index(op.f("ix_grid_cells_arrondissement_code"), table_name="grid_cells")
    op.drop_geospatial_table("grid_cells")
    op.drop_table("categories")
    op.drop_geospatial_index(
        op.f("ix_areas_geom"), table_name="areas", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("areas")
