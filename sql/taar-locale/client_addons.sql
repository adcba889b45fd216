-- client_addons: each Firefox release client's latest day in the window, its
-- add-ons exploded and filtered as the original `get_client_addons`. SQL
-- three-valued logic on purpose: a NULL flag or locale drops the add-on.
WITH sample AS (
  SELECT client_id, locale, active_addons,
         row_number() OVER (PARTITION BY client_id ORDER BY submission_date_s3 DESC) AS rn
  FROM clients_daily
  WHERE app_name = 'Firefox' AND channel = 'release'
    AND submission_date_s3 > $start AND submission_date_s3 <= $end
    AND client_id IS NOT NULL
)
SELECT locale, client_id, addon_info['addon_id'] AS addon
FROM (SELECT locale, client_id, unnest(active_addons) AS addon_info FROM sample WHERE rn = 1)
WHERE addon_info['blocklisted'] = false
  AND addon_info['type'] = 'extension'
  AND addon_info['signed_state'] = 2
  AND addon_info['user_disabled'] = false
  AND addon_info['app_disabled'] = false
  AND addon_info['is_system'] = false
  AND locale <> 'null'
  AND addon_info['addon_id'] IS NOT NULL
