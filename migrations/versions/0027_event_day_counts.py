"""event_day_counts: the events' counts by UTC day, category and location, kept by triggers

The polygon report's city-wide figures counted every event of the period (seconds over ten
years). ``event_day_counts`` holds DELTA rows (day, category, located, n), insert-only, written
by statement-level triggers on ``events`` (the partitioned parent) from their transition tables:
one row per group of the statement, +n for the inserted events, −n for the deleted ones, and for
an UPDATE the difference between the old and the new groups (zero-sum groups write no row, so an
update changing nothing counted costs no row). Days are UTC dates of ``occurred_at``: the table
does not depend on the city's time zone. Concurrent writers only insert rows: no row lock is
shared, no contention, no deadlock. An UPDATE that moves an event to another month's partition
appears in the root's UPDATE transition tables (not as a DELETE and an INSERT), so it is counted
once. ``TRUNCATE events`` empties the table. The sum of ``n`` by key is the exact count; the
maintenance compacts the deltas into one row per key (``db.day_counts.compact_day_counts``).

The table is backfilled from the existing events. In place and safe to re-run; the downgrade
drops it all.

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

#: one group of events: its UTC day, its category, whether it is located
GROUP = "(occurred_at AT TIME ZONE 'UTC')::date, category, geom IS NOT NULL"

FUNCTIONS = (
    f"""
    CREATE OR REPLACE FUNCTION event_day_counts_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO event_day_counts (day, category, located, n)
        SELECT {GROUP}, count(*) FROM inserted_events GROUP BY 1, 2, 3;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE OR REPLACE FUNCTION event_day_counts_deleted() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO event_day_counts (day, category, located, n)
        SELECT {GROUP}, -count(*) FROM removed_events GROUP BY 1, 2, 3;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE OR REPLACE FUNCTION event_day_counts_updated() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO event_day_counts (day, category, located, n)
        SELECT day, category, located, sum(n)
        FROM (
            SELECT {GROUP}, -1 FROM old_events
            UNION ALL
            SELECT {GROUP}, 1 FROM new_events
        ) AS c (day, category, located, n)
        GROUP BY 1, 2, 3
        HAVING sum(n) <> 0;
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION event_day_counts_truncated() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        BEGIN
            TRUNCATE event_day_counts;
        EXCEPTION WHEN object_in_use THEN  -- the same TRUNCATE statement names it too
            DELETE FROM event_day_counts;
        END;
        RETURN NULL;
    END $$
    """,
)

# transition tables allow one event per trigger: one trigger per kind of statement
TRIGGERS = (
    "CREATE TRIGGER event_day_counts_inserted AFTER INSERT ON events "
    "REFERENCING NEW TABLE AS inserted_events FOR EACH STATEMENT "
    "EXECUTE FUNCTION event_day_counts_inserted()",
    "CREATE TRIGGER event_day_counts_deleted AFTER DELETE ON events "
    "REFERENCING OLD TABLE AS removed_events FOR EACH STATEMENT "
    "EXECUTE FUNCTION event_day_counts_deleted()",
    "CREATE TRIGGER event_day_counts_updated AFTER UPDATE ON events "
    "REFERENCING OLD TABLE AS old_events NEW TABLE AS new_events FOR EACH STATEMENT "
    "EXECUTE FUNCTION event_day_counts_updated()",
    "CREATE TRIGGER event_day_counts_truncated AFTER TRUNCATE ON events "
    "FOR EACH STATEMENT EXECUTE FUNCTION event_day_counts_truncated()",
)

TRIGGER_NAMES = ("inserted", "deleted", "updated", "truncated")


def upgrade() -> None:
    # the events stay still while the table is filled and the triggers created
    op.execute("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        "CREATE TABLE IF NOT EXISTS event_day_counts ("
        "day date NOT NULL, category text NOT NULL, located boolean NOT NULL, n bigint NOT NULL)"
    )
    op.execute("CREATE INDEX IF NOT EXISTS ix_event_day_counts_day ON event_day_counts (day)")
    for function in FUNCTIONS:
        op.execute(function)
    for name in TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS event_day_counts_{name} ON events")
    for trigger in TRIGGERS:
        op.execute(trigger)
    op.execute("TRUNCATE event_day_counts")
    op.execute(
        "INSERT INTO event_day_counts (day, category, located, n) "
        f"SELECT {GROUP}, count(*) FROM events GROUP BY 1, 2, 3"
    )


def downgrade() -> None:
    for name in TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS event_day_counts_{name} ON events")
        op.execute(f"DROP FUNCTION IF EXISTS event_day_counts_{name}()")
    op.execute("DROP TABLE IF EXISTS event_day_counts")
