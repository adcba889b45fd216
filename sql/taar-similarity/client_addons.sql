-- client_addons: the clients TAAR similarity may cluster, with their
-- `active_addons`: each Firefox release client's latest day from $from to
-- $end with 3 to 99 add-ons listed (system ones included), its features
-- named as the original's `get_samples` (latest_days.sql).
WITH sample AS (
  SELECT client_id, active_addons, city,
         CAST(subsession_hours_sum AS DOUBLE) AS subsession_hours_sum,
         locale, os,
         places_bookmarks_count_mean AS bookmark_count,
         scalar_parent_browser_engagement_tab_open_event_count_sum AS tab_open_count,
         scalar_parent_browser_engagement_total_uri_count_sum AS total_uri,
         scalar_parent_browser_engagement_unique_domains_count_mean AS unique_tlds,
         submission_date_s3
  FROM clients_daily
  WHERE client_id IS NOT NULL AND active_addons IS NOT NULL
    AND list_size(active_addons) BETWEEN 3 AND 99
    AND channel = 'release' AND app_name = 'Firefox'
    AND submission_date_s3 >= $from AND submission_date_s3 <= $end
)
SELECT s.client_id, s.city, s.subsession_hours_sum, s.locale, s.os, s.bookmark_count, s.tab_open_count,
       s.total_uri, s.unique_tlds, s.active_addons
FROM latest_days AS l JOIN sample AS s ON s.client_id = l.client_id AND s.submission_date_s3 = l.day
