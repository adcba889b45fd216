-- client_addons: the client-days guid_coinstallation pairs add-ons in, with
-- their `active_addons`: each Firefox release client's latest day in the
-- window with more than one add-on listed, weight 1; with $legacy every such
-- day, weighted by the client's number of them, reproducing the original's
-- client-day × client-day join.
WITH sample AS (
  SELECT client_id, submission_date_s3, active_addons
  FROM clients_daily
  WHERE active_addons IS NOT NULL AND list_size(active_addons) > 1
    AND channel = 'release' AND normalized_channel = 'release' AND app_name = 'Firefox'
    AND client_id IS NOT NULL
    AND submission_date_s3 > $start AND submission_date_s3 <= $end
),
-- Each client's latest day and day count by aggregate and join: a window over
-- client_id would sort every row with its add-on list. It scans
-- clients_daily_sizes, where the add-on lists cost a sixth to decode, with
-- the same filter as sample. The small side comes first: DataFusion builds
-- its hash table from the left input.
clients AS (
  SELECT client_id, max(submission_date_s3) AS latest, count(*) AS days
  FROM clients_daily_sizes
  WHERE active_addons IS NOT NULL AND list_size(active_addons) > 1
    AND channel = 'release' AND normalized_channel = 'release' AND app_name = 'Firefox'
    AND client_id IS NOT NULL
    AND submission_date_s3 > $start AND submission_date_s3 <= $end
  GROUP BY client_id
)
SELECT CASE WHEN $legacy THEN c.days ELSE 1 END AS weight, s.active_addons
FROM clients AS c JOIN sample AS s ON s.client_id = c.client_id
WHERE $legacy OR s.submission_date_s3 = c.latest
