-- addon_rows: one row per add-on (in `addon`, with its position `pos` in
-- `active_addons`) of each Firefox release client's latest day from $from to
-- $end with 3 to 99 add-ons listed (latest_days.sql), its features named as
-- the TAAR service reads them (the original's get_df: city as geo_city,
-- hours as subsession_length, the day's most visited domains as unique_tlds).
SELECT c.client_id, c.city AS geo_city, c.subsession_hours_sum AS subsession_length, c.locale, c.os,
       c.places_bookmarks_count_mean AS bookmark_count,
       c.scalar_parent_browser_engagement_tab_open_event_count_sum AS tab_open_count,
       c.scalar_parent_browser_engagement_total_uri_count_sum AS total_uri,
       c.scalar_parent_browser_engagement_unique_domains_count_max AS unique_tlds,
       unnest(c.active_addons) AS addon, unnest(range(list_size(c.active_addons))) AS pos
FROM latest_days AS l JOIN clients_daily AS c ON c.client_id = l.client_id AND c.submission_date_s3 = l.day
WHERE c.active_addons IS NOT NULL AND list_size(c.active_addons) BETWEEN 3 AND 99
  AND c.channel = 'release' AND c.app_name = 'Firefox'
