"""event_keys: the global unique key (source_id, external_id) of the partitioned events

``events`` is partitioned by month (0024): a unique constraint there must hold the partition
key, so (source_id, external_id) was left a plain index on every partition, kept one row per
pair by ingestion alone, and every look-up by identifier probed every month's index (2.1 s per
50,000 identifiers over 30 months). ``event_keys`` (not partitioned) holds, for each event, its
(source_id, external_id) as primary key, its id and its ``occurred_at`` (the partition key: an
update by id then reaches one partition). It is filled from the events stored; the writers of
events write their keys in the same transaction (``db.ingest``, ``db.open311``): a second
event with the same pair now fails on the primary key.

The statement-level triggers of 0024 that do what the foreign keys did also delete the keys
of deleted events, and ``TRUNCATE events`` empties ``event_keys``. In place and safe to re-run;
the upgrade fails, and changes nothing, if a pair is stored twice.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

#: 0024's bodies, plus the keys (``{keys_deleted}`` / ``{keys_truncated}``)
DELETED = """
CREATE OR REPLACE FUNCTION events_deleted_references() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- was: event_geocoding.event_id REFERENCES events ON DELETE CASCADE
    DELETE FROM event_geocoding g USING deleted_events d WHERE g.event_id = d.id;
    -- was: service_requests.event_id REFERENCES events ON DELETE SET NULL
    UPDATE service_requests r SET event_id = NULL
    FROM deleted_events d WHERE r.event_id = d.id;{keys_deleted}
    RETURN NULL;
END $$
"""

KEYS_DELETED = """
    -- the global key of each deleted event
    DELETE FROM event_keys k USING deleted_events d
    WHERE k.source_id = d.source_id AND k.external_id = d.external_id AND k.event_id = d.id;"""

TRUNCATED = """
CREATE OR REPLACE FUNCTION events_truncated_references() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        TRUNCATE event_geocoding;
    EXCEPTION WHEN object_in_use THEN  -- the same TRUNCATE statement names it too
        DELETE FROM event_geocoding;
    END;{keys_truncated}
    UPDATE service_requests SET event_id = NULL WHERE event_id IS NOT NULL;
    RETURN NULL;
END $$
"""

KEYS_TRUNCATED = """
    BEGIN
        TRUNCATE event_keys;
    EXCEPTION WHEN object_in_use THEN
        DELETE FROM event_keys;
    END;"""

FILL = """
DO $$
DECLARE
    twice bigint;
BEGIN
    IF to_regclass('public.event_keys') IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT count(*) INTO twice FROM (
        SELECT 1 FROM events GROUP BY source_id, external_id HAVING count(*) > 1) AS d;
    IF twice > 0 THEN
        RAISE EXCEPTION 'event_keys: % (source_id, external_id) pairs are stored twice', twice;
    END IF;
    CREATE TABLE event_keys (
        source_id integer NOT NULL,
        external_id text NOT NULL,
        event_id bigint NOT NULL,
        occurred_at timestamp with time zone NOT NULL
    );
    INSERT INTO event_keys (source_id, external_id, event_id, occurred_at)
    SELECT source_id, external_id, id, occurred_at FROM events
    ORDER BY source_id, external_id;
    ALTER TABLE event_keys ADD CONSTRAINT pk_event_keys PRIMARY KEY (source_id, external_id);
    ANALYZE event_keys;
END $$
"""


def upgrade() -> None:
    op.execute(FILL)
    op.execute(DELETED.format(keys_deleted=KEYS_DELETED))
    op.execute(TRUNCATED.format(keys_truncated=KEYS_TRUNCATED))


def downgrade() -> None:
    op.execute(DELETED.format(keys_deleted=""))
    op.execute(TRUNCATED.format(keys_truncated=""))
    op.execute("DROP TABLE IF EXISTS event_keys")
