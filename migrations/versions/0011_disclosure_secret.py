"""disclosure control: the public counts' rounding secret, residents' descriptions moderated

The public's counts are sums of randomly rounded atoms (hexagon x category x week); each
atom's draw is a keyed hash with this secret, kept in the database so that every server
process and every host rounds alike, and never served.

A resident's free-text description is shown to the public only once an agent has published it
(``public_description``, the text as the agent let it out, and when).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disclosure_secret",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column(
            "secret",
            sa.Text,
            nullable=False,
            server_default=sa.text("md5(gen_random_uuid()::text) || md5(gen_random_uuid()::text)"),
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("id = 1", name="single_row"),
    )
    op.execute("INSERT INTO disclosure_secret (id) VALUES (1)")
    op.add_column("service_requests", sa.Column("public_description", sa.Text, nullable=True))
    op.add_column(
        "service_requests",
        sa.Column("description_published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_check_constraint(
        "public_description_length",
        "service_requests",
        "char_length(public_description) <= 4000",
    )


def downgrade() -> None:
    op.drop_constraint("ck_service_requests_public_description_length", "service_requests")
    op.drop_column("service_requests", "description_published_at")
    op.drop_column("service_requests", "public_description")
    op.drop_table("disclosure_secret")
