-- client_addons: each Firefox release client's latest day in the window, its
-- add-ons exploded and filtered as the original `get_client_addons`. SQL
-- three-valued logic on purpose: a NULL flag or locale drops the add-on.
WITH sample AS (
  SELECT client_id, submission_date_s3, locale, active_addons
  FROM clients_daily
  WHERE app_name = 'Firefox' AND channel = 'release'
    AND submission_date_s3 > $start AND submission_date_s3 <= $end
    AND client_id IS NOT NULL
),
-- The latest day by aggregate and join: a window over client_id would sort
-- every row with its add-on list (3× slower at 5M client-days). The small
-- side comes first: DataFusion builds its hash table from the left input.
latest AS (
  SELECT client_id, max(submission_date_s3) AS day FROM sample GROUP BY client_id
)
SELECT locale, client_id, addon_info['addon_id'] AS addon
FROM (SELECT s.locale, s.client_id, unnest(s.active_addons) AS addon_info
      FROM latest AS l JOIN sample AS s ON s.client_id = l.client_id AND s.submission_date_s3 = l.day)
WHERE addon_info['blocklisted'] = false
  AND addon_info['type'] = 'extension'
  AND addon_info['signed_state'] = 2
  AND addon_info['user_disabled'] = false
  AND addon_info['app_disabled'] = false
  AND addon_info['is_system'] = false
  AND locale <> 'null'
  AND addon_info['addon_id'] IS NOT NULL
