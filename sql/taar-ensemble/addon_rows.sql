-- addon_rows: one row per add-on (in `addon`, with its position `pos` in
-- `active_addons`) of each Firefox release client's latest day from $from to
-- $end with 3 to 99 add-ons listed, its features named as the TAAR service
-- reads them (the original's get_df: city as geo_city, hours as
-- subsession_length, the day's most visited domains as unique_tlds).
--
-- The latest day by aggregate and join rather than a window (which would
-- sort every row with its add-on list), over clients_daily_sizes, where the
-- add-on lists cost little to decode; the small side first.
WITH latest AS (
  SELECT client_id, max(submission_date_s3) AS day
  FROM clients_daily_sizes
  WHERE client_id IS NOT NULL AND active_addons IS NOT NULL
    AND list_size(active_addons) BETWEEN 3 AND 99
    AND channel = 'release' AND app_name = 'Firefox'
    AND submission_date_s3 >= $from AND submission_date_s3 <= $end
  GROUP BY client_id
)
SELECT c.client_id, c.city AS geo_city, c.subsession_hours_sum AS subsession_length, c.locale, c.os,
       c.places_bookmarks_count_mean AS bookmark_count,
       c.scalar_parent_browser_engagement_tab_open_event_count_sum AS tab_open_count,
       c.scalar_parent_browser_engagement_total_uri_count_sum AS total_uri,
       c.scalar_parent_browser_engagement_unique_domains_count_max AS unique_tlds,
       unnest(c.active_addons) AS addon, unnest(range(list_size(c.active_addons))) AS pos
FROM latest AS l JOIN clients_daily AS c ON c.client_id = l.client_id AND c.submission_date_s3 = l.day
WHERE c.active_addons IS NOT NULL AND list_size(c.active_addons) BETWEEN 3 AND 99
  AND c.channel = 'release' AND c.app_name = 'Firefox'
