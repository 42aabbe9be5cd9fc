-- The keys of the events a chunk has just copied into events: those of this source and batch
-- whose id comes after %(after)s, the identity's last value read just before the COPY (each partition's primary key (id, occurred_at) finds them; older months' indexes
-- answer at once). A pair already stored fails here, on event_keys' primary key.
INSERT INTO event_keys (source_id, external_id, event_id, occurred_at)
SELECT e.source_id, e.external_id, e.id, e.occurred_at
FROM events AS e
WHERE e.id > %(after)s
  AND e.source_id = %(source_id)s
  AND e.batch_id = %(batch_id)s
