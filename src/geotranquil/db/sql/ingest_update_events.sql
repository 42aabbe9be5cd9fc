-- Apply a staged chunk of rows whose (source_id, external_id) already exist. Rows whose
-- content did not change are not touched (no new tuple), so re-ingesting writes nothing.
-- Each event is found by its key (event_keys: id and occurred_at, the partition key), so the
-- update reads one partition's primary key per row (pruned at run time) instead of probing
-- every month's (source_id, external_id) index. The staged rows drive: one primary-key probe
-- of event_keys each (the lateral subquery, kept apart by LIMIT 1: a plain join read all of
-- the source's keys when the planner did not know the source). An event whose occurred_at changes may move
-- to another month's partition; its key follows it (the second CTE). The result: the number
-- of events updated.
WITH updated AS (
    UPDATE events AS e SET
        category = s.category,
        native_category = s.native_category,
        occurred_at = s.occurred_at,
        reported_at = s.reported_at,
        geom = CASE WHEN s.lon IS NULL THEN NULL
                    ELSE ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) END,
        h3_fine = s.h3_fine,
        h3_r7 = s.h3_r7,
        h3_r8 = s.h3_r8,
        h3_r9 = s.h3_r9,
        h3_r10 = s.h3_r10,
        location_precision = s.location_precision,
        address = s.address,
        attributes = s.attributes,
        batch_id = %(batch_id)s,
        updated_at = now()
    FROM ingest_stage AS s
    CROSS JOIN LATERAL (
        SELECT event_id, occurred_at FROM event_keys
        WHERE source_id = %(source_id)s AND external_id = s.external_id
        LIMIT 1
    ) AS k
    WHERE e.id = k.event_id
      AND e.occurred_at = k.occurred_at
      AND (
          (e.category, e.native_category, e.occurred_at, e.reported_at, e.h3_fine,
           e.location_precision, e.address, e.attributes)
          IS DISTINCT FROM
          (s.category, s.native_category, s.occurred_at, s.reported_at, s.h3_fine,
           s.location_precision, s.address, s.attributes)
          OR NOT ST_OrderingEquals(
              coalesce(e.geom, 'POINT EMPTY'::geometry),
              CASE WHEN s.lon IS NULL THEN 'POINT EMPTY'::geometry
                   ELSE ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) END)
      )
    RETURNING e.external_id, e.occurred_at, k.occurred_at AS was
),
moved AS (
    UPDATE event_keys AS k SET occurred_at = u.occurred_at
    FROM updated AS u
    WHERE k.source_id = %(source_id)s
      AND k.external_id = u.external_id
      AND u.occurred_at <> u.was
    RETURNING 1
)
SELECT count(*) FROM updated
