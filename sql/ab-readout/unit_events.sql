-- One row per unit: the variant it was exposed in (NULL: events but no
-- exposure), how many variants it was seen in, its segment values at
-- exposure, and the distinct other events it had. Rows without a unit
-- are counted by excluded_units.sql.
SELECT
  unit,
  min(variant) FILTER (WHERE event = $exposure) AS variant,
  count(DISTINCT variant) AS variants,
  max(segment_key) FILTER (WHERE event = $exposure) AS segment_key,
  array_agg(DISTINCT event) FILTER (WHERE event <> $exposure) AS events
FROM ab_rows
WHERE unit IS NOT NULL
GROUP BY unit
