"""events' references to sources and categories: checked once per statement, not per row

The two foreign keys of ``events`` (``source_id`` → ``sources.id``, ``category`` →
``categories.code`` ON UPDATE CASCADE) each ran one row-level check per written event: a
query of the referenced table per row, about 22 µs per event for the two, which made a bulk
``COPY`` into ``events`` 2.6 times slower than into the same table without them (measured on
200,000 events: 2.6 s against 7.1 s). Statement-level triggers with transition tables do the
same checks once per statement, on the statement's distinct values:

- after an INSERT or UPDATE of ``events``: the referenced sources and categories are locked
  ``FOR KEY SHARE`` (as a foreign key's check does, so that they cannot be deleted before this
  transaction ends) and any value with no row raises ``foreign_key_violation`` (SQLSTATE
  23503) naming the old constraint, as the foreign key did;
- after a DELETE or UPDATE of ``sources``' ids or ``categories``' codes: a value that events
  still use raises ``foreign_key_violation`` (what NO ACTION did), except a category code
  renamed by an UPDATE, which the events follow (what ON UPDATE CASCADE did, one row trigger
  per renamed category: they are a handful);
- after a TRUNCATE of ``sources`` or ``categories``: an error if events remain (a foreign key
  refused the TRUNCATE unless ``events`` went with it).

Only statements on ``events`` itself are checked (as the daily counts, migration 0027): no
code writes a partition directly. The downgrade puts the foreign keys back (and fails, like
adding them, if an event references a missing row).

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

FOREIGN_KEYS = {
    "fk_events_category_categories": (
        "FOREIGN KEY (category) REFERENCES categories (code) ON UPDATE CASCADE"
    ),
    "fk_events_source_id_sources": "FOREIGN KEY (source_id) REFERENCES sources (id)",
}

#: (constraint, events' column, referenced table, its key)
REFERENCES = (
    ("fk_events_source_id_sources", "source_id", "sources", "id"),
    ("fk_events_category_categories", "category", "categories", "code"),
)


def _missing_parent(constraint: str, column: str, table: str, key: str) -> str:
    """plpgsql: lock the statement's parents FOR KEY SHARE, raise if one is missing."""
    return f"""
        PERFORM 1 FROM {table} p
        WHERE p.{key} IN (SELECT DISTINCT {column} FROM written_events) FOR KEY SHARE;
        SELECT w.{column}::text INTO missing
        FROM (SELECT DISTINCT {column} FROM written_events) w
        WHERE NOT EXISTS (SELECT 1 FROM {table} p WHERE p.{key} = w.{column}) LIMIT 1;
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION 'insert or update on table "events" violates foreign key '
                'constraint "{constraint}"'
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = '{constraint}',
                      TABLE = 'events',
                      DETAIL = format('Key ({column})=(%s) is not present in table "{table}".',
                                      missing);
        END IF;"""


def _still_used(
    constraint: str, column: str, table: str, key: str, gone: str, also: str = ""
) -> str:
    """plpgsql: raise if a key of the ``gone`` rows (alias ``o``; those meeting ``also``) is
    still used by events."""
    return f"""
        SELECT o.{key}::text INTO used FROM {gone}
        WHERE {also}EXISTS (SELECT 1 FROM events e WHERE e.{column} = o.{key}) LIMIT 1;
        IF used IS NOT NULL THEN
            RAISE EXCEPTION 'update or delete on table "{table}" violates foreign key '
                'constraint "{constraint}" on table "events"'
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = '{constraint}',
                      TABLE = '{table}',
                      DETAIL = format('Key ({key})=(%s) is still referenced from table '
                                      '"events".', used);
        END IF;"""


def _keep_events(constraint: str, column: str, table: str, key: str) -> str:
    """The function of the triggers after DELETE and TRUNCATE of a referenced table."""
    return f"""
    CREATE OR REPLACE FUNCTION {table}_keep_events() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        used text;
    BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            IF EXISTS (SELECT 1 FROM events) THEN
                RAISE EXCEPTION 'cannot truncate "{table}": events still reference it'
                    USING ERRCODE = 'foreign_key_violation',
                          HINT = 'Truncate "events" in the same statement.';
            END IF;
            RETURN NULL;
        END IF;{_still_used(constraint, column, table, key, f"gone_{table} o")}
        RETURN NULL;
    END $$
    """


FUNCTIONS = (
    f"""
    CREATE OR REPLACE FUNCTION events_check_parents() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        missing text;
    BEGIN{"".join(_missing_parent(*r) for r in REFERENCES)}
        RETURN NULL;
    END $$
    """,
    *(_keep_events(*r) for r in REFERENCES),
    """
    CREATE OR REPLACE FUNCTION categories_renamed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE events SET category = NEW.code WHERE category = OLD.code;
        RETURN NULL;
    END $$
    """,
    # an UPDATE of sources.id: the ids that are gone (in the old rows, not in the new ones)
    f"""
    CREATE OR REPLACE FUNCTION sources_ids_updated() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        used text;
    BEGIN{
        _still_used(
            *REFERENCES[0],
            "old_sources o",
            "NOT EXISTS (SELECT 1 FROM new_sources n WHERE n.id = o.id) AND ",
        )
    }
        RETURN NULL;
    END $$
    """,
)

TRIGGERS = (
    "CREATE TRIGGER events_parents_inserted AFTER INSERT ON events "
    "REFERENCING NEW TABLE AS written_events FOR EACH STATEMENT "
    "EXECUTE FUNCTION events_check_parents()",
    "CREATE TRIGGER events_parents_updated AFTER UPDATE ON events "
    "REFERENCING NEW TABLE AS written_events FOR EACH STATEMENT "
    "EXECUTE FUNCTION events_check_parents()",
    # a renamed category is followed by its events (a row trigger: renames are a handful)
    "CREATE TRIGGER categories_renamed AFTER UPDATE OF code ON categories FOR EACH ROW "
    "WHEN (OLD.code IS DISTINCT FROM NEW.code) EXECUTE FUNCTION categories_renamed()",
    "CREATE TRIGGER categories_deleted_keep_events AFTER DELETE ON categories "
    "REFERENCING OLD TABLE AS gone_categories FOR EACH STATEMENT "
    "EXECUTE FUNCTION categories_keep_events()",
    "CREATE TRIGGER categories_truncated_keep_events AFTER TRUNCATE ON categories "
    "FOR EACH STATEMENT EXECUTE FUNCTION categories_keep_events()",
    "CREATE TRIGGER sources_deleted_keep_events AFTER DELETE ON sources "
    "REFERENCING OLD TABLE AS gone_sources FOR EACH STATEMENT "
    "EXECUTE FUNCTION sources_keep_events()",
    "CREATE TRIGGER sources_truncated_keep_events AFTER TRUNCATE ON sources "
    "FOR EACH STATEMENT EXECUTE FUNCTION sources_keep_events()",
    "CREATE TRIGGER sources_ids_updated AFTER UPDATE ON sources "
    "REFERENCING OLD TABLE AS old_sources NEW TABLE AS new_sources FOR EACH STATEMENT "
    "EXECUTE FUNCTION sources_ids_updated()",
)

DROPPED = (
    "DROP TRIGGER IF EXISTS events_parents_inserted ON events",
    "DROP TRIGGER IF EXISTS events_parents_updated ON events",
    "DROP TRIGGER IF EXISTS categories_renamed ON categories",
    "DROP TRIGGER IF EXISTS categories_deleted_keep_events ON categories",
    "DROP TRIGGER IF EXISTS categories_truncated_keep_events ON categories",
    "DROP TRIGGER IF EXISTS sources_deleted_keep_events ON sources",
    "DROP TRIGGER IF EXISTS sources_truncated_keep_events ON sources",
    "DROP TRIGGER IF EXISTS sources_ids_updated ON sources",
    "DROP FUNCTION IF EXISTS events_check_parents()",
    "DROP FUNCTION IF EXISTS sources_keep_events()",
    "DROP FUNCTION IF EXISTS categories_keep_events()",
    "DROP FUNCTION IF EXISTS categories_renamed()",
    "DROP FUNCTION IF EXISTS sources_ids_updated()",
)


def upgrade() -> None:
    for name in FOREIGN_KEYS:
        op.execute(f"ALTER TABLE events DROP CONSTRAINT IF EXISTS {name}")
    for statement in (*DROPPED, *FUNCTIONS, *TRIGGERS):
        op.execute(statement)


def downgrade() -> None:
    for statement in DROPPED:
        op.execute(statement)
    for name, definition in FOREIGN_KEYS.items():
        op.execute(f"ALTER TABLE events ADD CONSTRAINT {name} {definition}")
