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

FUNCTIONS = (
    """
    CREATE OR REPLACE FUNCTION events_check_parents() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        missing text;
    BEGIN
        PERFORM 1 FROM sources s
        WHERE s.id IN (SELECT DISTINCT source_id FROM written_events) FOR KEY SHARE;
        SELECT w.source_id::text INTO missing
        FROM (SELECT DISTINCT source_id FROM written_events) w
        WHERE NOT EXISTS (SELECT 1 FROM sources s WHERE s.id = w.source_id) LIMIT 1;
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION 'insert or update on table "events" violates foreign key '
                'constraint "fk_events_source_id_sources"'
                USING ERRCODE = 'foreign_key_violation',
                      CONSTRAINT = 'fk_events_source_id_sources', TABLE = 'events',
                      DETAIL = format('Key (source_id)=(%s) is not present in table "sources".',
                                      missing);
        END IF;
        PERFORM 1 FROM categories c
        WHERE c.code IN (SELECT DISTINCT category FROM written_events) FOR KEY SHARE;
        SELECT w.category INTO missing
        FROM (SELECT DISTINCT category FROM written_events) w
        WHERE NOT EXISTS (SELECT 1 FROM categories c WHERE c.code = w.category) LIMIT 1;
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION 'insert or update on table "events" violates foreign key '
                'constraint "fk_events_category_categories"'
                USING ERRCODE = 'foreign_key_violation',
                      CONSTRAINT = 'fk_events_category_categories', TABLE = 'events',
                      DETAIL = format('Key (category)=(%s) is not present in table '
                                      '"categories".', missing);
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION sources_keep_events() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        used integer;
    BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            IF EXISTS (SELECT 1 FROM events) THEN
                RAISE EXCEPTION 'cannot truncate "sources": events still reference it'
                    USING ERRCODE = 'foreign_key_violation',
                          HINT = 'Truncate "events" in the same statement.';
            END IF;
            RETURN NULL;
        END IF;
        SELECT o.id INTO used FROM gone_sources o
        WHERE EXISTS (SELECT 1 FROM events e WHERE e.source_id = o.id) LIMIT 1;
        IF used IS NOT NULL THEN
            RAISE EXCEPTION 'update or delete on table "sources" violates foreign key '
                'constraint "fk_events_source_id_sources" on table "events"'
                USING ERRCODE = 'foreign_key_violation',
                      CONSTRAINT = 'fk_events_source_id_sources', TABLE = 'sources',
                      DETAIL = format('Key (id)=(%s) is still referenced from table "events".',
                                      used);
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION categories_keep_events() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        used text;
    BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            IF EXISTS (SELECT 1 FROM events) THEN
                RAISE EXCEPTION 'cannot truncate "categories": events still reference it'
                    USING ERRCODE = 'foreign_key_violation',
                          HINT = 'Truncate "events" in the same statement.';
            END IF;
            RETURN NULL;
        END IF;
        SELECT o.code INTO used FROM gone_categories o
        WHERE EXISTS (SELECT 1 FROM events e WHERE e.category = o.code) LIMIT 1;
        IF used IS NOT NULL THEN
            RAISE EXCEPTION 'update or delete on table "categories" violates foreign key '
                'constraint "fk_events_category_categories" on table "events"'
                USING ERRCODE = 'foreign_key_violation',
                      CONSTRAINT = 'fk_events_category_categories', TABLE = 'categories',
                      DETAIL = format('Key (code)=(%s) is still referenced from table "events".',
                                      used);
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION categories_renamed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE events SET category = NEW.code WHERE category = OLD.code;
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
)

#: an UPDATE of sources.id: ids that are gone (in the old rows, not in the new ones)
SOURCE_ID_UPDATE = (
    """
    CREATE OR REPLACE FUNCTION sources_ids_updated() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        used integer;
    BEGIN
        SELECT o.id INTO used FROM old_sources o
        WHERE NOT EXISTS (SELECT 1 FROM new_sources n WHERE n.id = o.id)
          AND EXISTS (SELECT 1 FROM events e WHERE e.source_id = o.id) LIMIT 1;
        IF used IS NOT NULL THEN
            RAISE EXCEPTION 'update or delete on table "sources" violates foreign key '
                'constraint "fk_events_source_id_sources" on table "events"'
                USING ERRCODE = 'foreign_key_violation',
                      CONSTRAINT = 'fk_events_source_id_sources', TABLE = 'sources',
                      DETAIL = format('Key (id)=(%s) is still referenced from table "events".',
                                      used);
        END IF;
        RETURN NULL;
    END $$
    """,
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
    for statement in (*DROPPED, *FUNCTIONS, *TRIGGERS, *SOURCE_ID_UPDATE):
        op.execute(statement)


def downgrade() -> None:
    for statement in DROPPED:
        op.execute(statement)
    for name, definition in FOREIGN_KEYS.items():
        op.execute(f"ALTER TABLE events ADD CONSTRAINT {name} {definition}")
