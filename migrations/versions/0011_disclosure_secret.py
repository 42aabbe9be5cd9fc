"""the secret key of the public counts' random rounding (disclosure control)

The public's counts are sums of randomly rounded atoms (hexagon x category x week); each
atom's draw is a keyed hash with this secret, kept in the database so that every server
process and every host rounds alike, and never served.

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


def downgrade() -> None:
    op.drop_table("disclosure_secret")
