"""the job queue: procrastinate's schema, in the application's database

``geotranquil worker`` runs durable jobs queued in PostgreSQL by procrastinate (issue 16 §2).
Its schema (tables ``procrastinate_*``, enum types, PL/pgSQL functions and triggers used for
LISTEN/NOTIFY) is the one shipped by the installed procrastinate, applied as it is. These
tables are not in our SQLAlchemy models: the drift comparison leaves them out
(``geotranquil.db.jobs.include_object``). A later procrastinate release that changes its schema
comes with its own SQL migrations (``procrastinate.schema.SchemaManager.get_migrations_path()``):
apply them in a new Alembic revision when the pinned version moves.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op
from procrastinate.schema import SchemaManager

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_DROP_FUNCTIONS = """
DO $$
DECLARE f record;
BEGIN
    FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
              JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = current_schema() AND starts_with(p.proname, 'procrastinate_')
    LOOP
        EXECUTE 'DROP FUNCTION ' || f.sig || ' CASCADE';
    END LOOP;
END;
$$
"""


def upgrade() -> None:
    # as procrastinate's own SchemaManager.apply_schema: "%" doubled for the driver's paramstyle
    op.get_bind().exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    op.execute(_DROP_FUNCTIONS)  # the triggers go with their functions
    op.execute(
        "DROP TABLE procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, "
        "procrastinate_workers"
    )
    op.execute(
        "DROP TYPE procrastinate_job_to_defer_v1, procrastinate_job_event_type, "
        "procrastinate_job_status"
    )
