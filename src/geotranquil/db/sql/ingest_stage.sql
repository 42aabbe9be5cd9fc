CREATE TEMP TABLE IF NOT EXISTS ingest_stage (
    external_id text NOT NULL,
    category text NOT NULL,
    native_category text,
    occurred_at timestamptz NOT NULL,
    reported_at timestamptz,
    lon double precision,
    lat double precision,
    h3_fine bigint,
    h3_r7 bigint,
    h3_r8 bigint,
    h3_r9 bigint,
    h3_r10 bigint,
    location_precision text NOT NULL,
    address text,
    attributes jsonb NOT NULL
)
