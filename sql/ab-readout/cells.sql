-- Per variant and segment combination: the exposed units (seen in one
-- variant only), and per metric event how many of them had it (a row per
-- metric that someone had; metric NULL where nobody had any).
WITH exposed AS (
  SELECT variant, segment_key, events
  FROM unit_events
  WHERE variant IS NOT NULL AND variants = 1
),
units AS (
  SELECT variant, segment_key, count(*) AS units
  FROM exposed
  GROUP BY variant, segment_key
),
converted AS (
  SELECT variant, segment_key, metric, count(*) AS converted
  FROM (SELECT variant, segment_key, unnest(events) AS metric FROM exposed WHERE events IS NOT NULL) AS had
  WHERE array_has($metric_events, metric)
  GROUP BY variant, segment_key, metric
)
SELECT u.variant, u.segment_key, c.metric, u.units, coalesce(c.converted, 0) AS converted
FROM units AS u
LEFT JOIN converted AS c ON c.variant = u.variant AND c.segment_key = u.segment_key
