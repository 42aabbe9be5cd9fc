"""event_day_counts keyed by source too: the events per source read from the kept counts

``/health`` (for staff) and ``geotranquil status`` showed each source's events, total and
located, by a ``GROUP BY`` over every event: 10.5 s on a store of 50 M events, longer than a
health probe waits. The daily counts of migration 0027 now carry the events' ``source_id`` in
their key (day, source, category, located): the events per source are the sums of a table of
a few hundred thousand rows, and the report's city figures, summed by category, read the same
table as before. Categories mostly belong to one source, so the table hardly grows.

The table is rebuilt in this shape (its triggers' functions follow) and refilled from the
events, with ``events`` locked against writes meanwhile, as migration 0027 did. ``source_id``
has no foreign key: a source whose events were all deleted may be deleted before the daily
compaction drops its zero-sum rows, and readers join from ``sources``. In place and safe to
re-run; the downgrade goes back to the shape of 0027 (refilled the same way).

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def _positions(key: tuple[str, ...]) -> str:
    """``1, 2, ...``: the GROUP BY of a key's columns by position."""
    return ", ".join(str(i + 1) for i in range(len(key)))


def _functions(key: tuple[str, ...], group: str) -> list[str]:
    """The three counting functions of migration 0027 for a key (its columns) and the
    expressions computing it from an event."""
    columns = ", ".join(key)
    numbers = _positions(key)
    one_way = [
        f"""
        CREATE OR REPLACE FUNCTION event_day_counts_{kind}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO event_day_counts ({columns}, n)
            SELECT {group}, {sign}count(*) FROM {rows} GROUP BY {numbers};
            RETURN NULL;
        END $$
        """
        for kind, sign, rows in (
            ("inserted", "", "inserted_events"),
            ("deleted", "-", "removed_events"),
        )
    ]
    return [
        *one_way,
        f"""
        CREATE OR REPLACE FUNCTION event_day_counts_updated() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO event_day_counts ({columns}, n)
            SELECT {columns}, sum(n)
            FROM (
                SELECT {group}, -1 FROM old_events
                UNION ALL
                SELECT {group}, 1 FROM new_events
            ) AS c ({columns}, n)
            GROUP BY {numbers}
            HAVING sum(n) <> 0;
            RETURN NULL;
        END $$
        """,
    ]


DAY = "(occurred_at AT TIME ZONE 'UTC')::date"
NEW_KEY = ("day", "source_id", "category", "located")
NEW_GROUP = f"{DAY}, source_id, category, geom IS NOT NULL"
OLD_KEY = ("day", "category", "located")
OLD_GROUP = f"{DAY}, category, geom IS NOT NULL"

NEW_TABLE = (
    "CREATE TABLE event_day_counts (day date NOT NULL, source_id integer NOT NULL, "
    "category text NOT NULL, located boolean NOT NULL, n bigint NOT NULL)"
)
OLD_TABLE = (
    "CREATE TABLE event_day_counts ("
    "day date NOT NULL, category text NOT NULL, located boolean NOT NULL, n bigint NOT NULL)"
)


def _rebuild(table: str, key: tuple[str, ...], group: str) -> None:
    # the events stay still while the table is rebuilt: no delta is lost between the two
    op.execute("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE")
    op.execute("DROP TABLE IF EXISTS event_day_counts")
    op.execute(table)
    op.execute("CREATE INDEX ix_event_day_counts_day ON event_day_counts (day)")
    for function in _functions(key, group):
        op.execute(function)
    op.execute(
        f"INSERT INTO event_day_counts ({', '.join(key)}, n) "
        f"SELECT {group}, count(*) FROM events GROUP BY {_positions(key)}"
    )


def upgrade() -> None:
    _rebuild(NEW_TABLE, NEW_KEY, NEW_GROUP)


def downgrade() -> None:
    _rebuild(OLD_TABLE, OLD_KEY, OLD_GROUP)
