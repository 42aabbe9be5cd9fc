-- The planners' polygon report, in one statement: counts by category in the period and the
-- previous period of the same length, the weekly series, residents (area-weighted from the
-- resolution-10 grid), the city-wide figures, and the hot and emerging cells inside.
-- Binds: :area_id (int or NULL) or :wkt (EPSG:4326), :t0, :t1, :p0 (previous period start),
-- :tz, :cats (text[]), :w0, :w1 (first and last week, local dates), :bin ('day', 'week' or
-- 'month'), :step (its interval), :s0, :s1 (first and last bin, local dates), :m0, :m1, :d0,
-- :d1 (the whole UTC days inside [:t0, :t1): reports.city_days), :hot_run,
-- :emerging_run (int or NULL), :hot_labels, :pattern_names, :pattern_labels (text[]).
WITH zone AS (
    SELECT coalesce(
        (SELECT geom FROM areas WHERE id = CAST(:area_id AS integer)),
        ST_GeomFromText(CAST(:wkt AS text), 4326)
    ) AS geom
),
ev AS (
    SELECT e.category, e.occurred_at
    FROM events e, zone z
    WHERE e.geom && z.geom AND ST_Intersects(e.geom, z.geom)
      AND e.occurred_at >= :p0 AND e.occurred_at < :t1
      AND e.category = ANY(CAST(:cats AS text[]))
),
by_category AS (
    SELECT category,
           count(*) FILTER (WHERE occurred_at >= :t0) AS n,
           count(*) FILTER (WHERE occurred_at < :t0) AS n_previous
    FROM ev GROUP BY category
),
-- The city's located events of the period: the whole UTC days [:d0, :d1) from the daily counts
-- kept with the events (event_day_counts, sums of deltas), the partial days at the edges,
-- [:t0, :m0) and [:m1, :t1), from the events (UTC midnights :m0 <= :m1; no whole day: :m0 =
-- :m1 = :t1 and :d0 = :d1).
city_parts AS (
    SELECT category, sum(n) AS n
    FROM event_day_counts
    WHERE day >= CAST(:d0 AS date) AND day < CAST(:d1 AS date) AND located
      AND category = ANY(CAST(:cats AS text[]))
    GROUP BY category
    UNION ALL
    SELECT category, count(*)
    FROM events
    WHERE occurred_at >= :t0 AND occurred_at < :m0 AND geom IS NOT NULL
      AND category = ANY(CAST(:cats AS text[]))
    GROUP BY category
    UNION ALL
    SELECT category, count(*)
    FROM events
    WHERE occurred_at >= :m1 AND occurred_at < :t1 AND geom IS NOT NULL
      AND category = ANY(CAST(:cats AS text[]))
    GROUP BY category
),
city AS (
    SELECT category, sum(n)::bigint AS n FROM city_parts GROUP BY category
),
weeks AS (
    SELECT w::date AS week
    FROM generate_series(CAST(:w0 AS date), CAST(:w1 AS date), interval '7 days') AS w
),
weekly AS (
    SELECT date_trunc('week', occurred_at AT TIME ZONE :tz)::date AS week, count(*) AS n
    FROM ev WHERE occurred_at >= :t0 GROUP BY 1
),
bins AS (
    SELECT b::date AS start
    FROM generate_series(CAST(:s0 AS date), CAST(:s1 AS date), CAST(:step AS interval)) AS b
),
binned AS (
    SELECT date_trunc(CAST(:bin AS text), occurred_at AT TIME ZONE :tz)::date AS start,
           count(*) AS n
    FROM ev WHERE occurred_at >= :t0 GROUP BY 1
),
-- A cell's residents live on its part inside the study area (land_share of it): the share of
-- them in the zone is the zone's part of the cell over that, at most all of them.
residents AS (
    SELECT coalesce(sum(g.population * CASE
               WHEN ST_Within(g.geom, z.geom) THEN 1.0
               ELSE least(1.0, ST_Area(ST_Intersection(g.geom, z.geom))
                               / nullif(ST_Area(g.geom) * g.land_share, 0))
           END), 0) AS population
    FROM grid_cells g, zone z
    WHERE g.resolution = 10 AND g.geom && z.geom AND ST_Intersects(g.geom, z.geom)
),
city_residents AS (
    SELECT coalesce(sum(population), 0) AS population FROM grid_cells WHERE resolution = 10
),
hot AS (
    SELECT c.h3, c.z, c.gi_bin, c.value, g.geom
    FROM hotspot_cells c JOIN grid_cells g ON g.h3 = c.h3, zone z
    WHERE c.run_id = CAST(:hot_run AS integer) AND c.gi_bin > 0
      AND g.geom && z.geom AND ST_Intersects(g.geom, z.geom)
),
emerging AS (
    SELECT c.h3, c.pattern, c.trend_z, g.geom
    FROM hotspot_cells c JOIN grid_cells g ON g.h3 = c.h3, zone z
    WHERE c.run_id = CAST(:emerging_run AS integer) AND c.pattern LIKE '%\_hot'
      AND g.geom && z.geom AND ST_Intersects(g.geom, z.geom)
)
SELECT json_build_object(
    'area_km2', (SELECT ST_Area(ST_Transform(geom, 2154)) / 1e6 FROM zone),
    'residents', (SELECT population FROM residents),
    'city_residents', (SELECT population FROM city_residents),
    'by_category', coalesce((
        SELECT json_agg(json_build_object(
                   'category', c.code, 'n', coalesce(b.n, 0),
                   'n_previous', coalesce(b.n_previous, 0), 'city_n', coalesce(ci.n, 0))
               ORDER BY c.code)
        FROM unnest(CAST(:cats AS text[])) AS c(code)
        LEFT JOIN by_category b ON b.category = c.code
        LEFT JOIN city ci ON ci.category = c.code
    ), '[]'::json),
    'weekly', coalesce((
        SELECT json_agg(json_build_object('week', w.week, 'n', coalesce(k.n, 0)) ORDER BY w.week)
        FROM weeks w LEFT JOIN weekly k ON k.week = w.week
    ), '[]'::json),
    'series', coalesce((
        SELECT json_agg(json_build_object('start', b.start, 'n', coalesce(k.n, 0))
               ORDER BY b.start)
        FROM bins b LEFT JOIN binned k ON k.start = b.start
    ), '[]'::json),
    'hot_cells', coalesce((
        SELECT json_agg(json_build_object(
                   'type', 'Feature', 'id', lower(to_hex(h.h3)),
                   'geometry', ST_AsGeoJSON(h.geom, 7)::json,
                   'properties', json_build_object(
                       'hex_id', lower(to_hex(h.h3)), 'z', h.z, 'gi_bin', h.gi_bin,
                       'gi_label', (CAST(:hot_labels AS text[]))[h.gi_bin], 'value', h.value))
               ORDER BY h.z DESC)
        FROM hot h
    ), '[]'::json),
    'emerging_cells', coalesce((
        SELECT json_agg(json_build_object(
                   'type', 'Feature', 'id', lower(to_hex(m.h3)),
                   'geometry', ST_AsGeoJSON(m.geom, 7)::json,
                   'properties', json_build_object(
                       'hex_id', lower(to_hex(m.h3)), 'pattern', m.pattern,
                       'pattern_label', (CAST(:pattern_labels AS text[]))[
                           array_position(CAST(:pattern_names AS text[]), m.pattern)],
                       'trend_z', m.trend_z))
               ORDER BY m.trend_z DESC NULLS LAST)
        FROM emerging m
    ), '[]'::json)
)::text
