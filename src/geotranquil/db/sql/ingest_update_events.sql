-- Apply a staged chunk of rows whose (source_id, external_id) already exist. Rows whose
-- content did not change are not touched (no new tuple), so re-ingesting writes nothing.
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
WHERE e.source_id = %(source_id)s
  AND e.external_id = s.external_id
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
