-- Upsert one staged chunk into events. A row whose content did not change is left alone
-- (no new tuple, not returned), so re-ingesting a file writes nothing.
INSERT INTO events AS e (
    source_id, external_id, category, native_category, occurred_at, reported_at, geom,
    h3_fine, h3_r7, h3_r8, h3_r9, h3_r10, location_precision, address, attributes, batch_id
)
SELECT
    %(source_id)s, s.external_id, s.category, s.native_category, s.occurred_at, s.reported_at,
    CASE WHEN s.lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) END,
    s.h3_fine, s.h3_r7, s.h3_r8, s.h3_r9, s.h3_r10, s.location_precision, s.address,
    s.attributes, %(batch_id)s
FROM ingest_stage AS s
ON CONFLICT (source_id, external_id) DO UPDATE SET
    category = EXCLUDED.category,
    native_category = EXCLUDED.native_category,
    occurred_at = EXCLUDED.occurred_at,
    reported_at = EXCLUDED.reported_at,
    geom = EXCLUDED.geom,
    h3_fine = EXCLUDED.h3_fine,
    h3_r7 = EXCLUDED.h3_r7,
    h3_r8 = EXCLUDED.h3_r8,
    h3_r9 = EXCLUDED.h3_r9,
    h3_r10 = EXCLUDED.h3_r10,
    location_precision = EXCLUDED.location_precision,
    address = EXCLUDED.address,
    attributes = EXCLUDED.attributes,
    batch_id = EXCLUDED.batch_id,
    updated_at = now()
WHERE (e.category, e.native_category, e.occurred_at, e.reported_at, e.h3_fine,
       e.location_precision, e.address, e.attributes)
      IS DISTINCT FROM
      (EXCLUDED.category, EXCLUDED.native_category, EXCLUDED.occurred_at, EXCLUDED.reported_at,
       EXCLUDED.h3_fine, EXCLUDED.location_precision, EXCLUDED.address, EXCLUDED.attributes)
   OR NOT ST_OrderingEquals(coalesce(e.geom, 'POINT EMPTY'::geometry),
                            coalesce(EXCLUDED.geom, 'POINT EMPTY'::geometry))
RETURNING (xmax = 0) AS inserted
