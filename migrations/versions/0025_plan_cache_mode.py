"""the database plans every statement for its values, whatever the connection says

The engine asks for ``plan_cache_mode = force_custom_plan`` in libpq's ``options`` of each
connection (see ``db/engine.py``). PgBouncer in transaction mode cannot pass ``options`` on
(its server connections are shared by every client): the setting then comes from the database
itself, for every session that connects to it (issue 18 §1). In place and safe to re-run.

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "DO $$ BEGIN EXECUTE format("
        "'ALTER DATABASE %I SET plan_cache_mode = force_custom_plan', current_database()); "
        "END $$"
    )


def downgrade() -> None:
    op.execute(
        "DO $$ BEGIN EXECUTE format("
        "'ALTER DATABASE %I RESET plan_cache_mode', current_database()); END $$"
    )
