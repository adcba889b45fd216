-- guid_install_ranking: installs per add-on over Firefox release client-days
-- in the window, counting every client-day × add-on occurrence as the
-- original did (no add-on state filter, no whitelist).
SELECT addon_row['addon_id'] AS addon_guid, count(*) AS install_count
FROM (
  SELECT unnest(active_addons) AS addon_row
  FROM clients_daily
  WHERE channel = 'release' AND app_name = 'Firefox' AND list_size(active_addons) > 0
    AND submission_date_s3 > $start AND submission_date_s3 <= $end
)
GROUP BY addon_row['addon_id']
