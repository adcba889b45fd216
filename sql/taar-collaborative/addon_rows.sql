-- addon_rows: one row per add-on (in `addon`) of each Firefox release
-- client's latest day from $from to $end, as the original AddonRecommender
-- samples clients_daily (any number of add-ons).
--
-- The latest day by aggregate and join rather than a window (which would
-- sort every row with its add-on list), over clients_daily_sizes, where the
-- add-on lists cost little to decode; the small side first, as DataFusion
-- builds its hash table from the left input.
WITH latest AS (
  SELECT client_id, max(submission_date_s3) AS day
  FROM clients_daily_sizes
  WHERE client_id IS NOT NULL AND active_addons IS NOT NULL
    AND channel = 'release' AND app_name = 'Firefox'
    AND submission_date_s3 >= $from AND submission_date_s3 <= $end
  GROUP BY client_id
)
SELECT c.client_id, unnest(c.active_addons) AS addon
FROM latest AS l JOIN clients_daily AS c ON c.client_id = l.client_id AND c.submission_date_s3 = l.day
WHERE c.active_addons IS NOT NULL AND c.channel = 'release' AND c.app_name = 'Firefox'
