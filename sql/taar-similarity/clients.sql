-- clients: the clients TAAR similarity clusters, one row each. Each Firefox
-- release client's latest day from $from to $end with 3 to 99 add-ons listed
-- (system ones included), its features named as the original's `get_samples`,
-- and its valid add-ons: not system, app- or user-disabled or foreign-installed
-- (NULL counts as false), of type 'extension', in the curated $whitelist.
-- Clients with fewer than 3 valid add-ons are left out.
--
-- `addons` keeps each valid guid with its position in `active_addons` (the
-- donors list them in that order); `terms` is the guids hashed as Spark 2.3's
-- HashingTF does, the clustering's input.
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
),
-- The latest day by aggregate and join: a window over client_id would sort
-- every row with its add-on list. It scans clients_daily_sizes, where the
-- add-on lists cost a sixth to decode, with the same filter as sample. The
-- small side comes first: DataFusion builds its hash table from the left input.
latest AS (
  SELECT client_id, max(submission_date_s3) AS day
  FROM clients_daily_sizes
  WHERE client_id IS NOT NULL AND active_addons IS NOT NULL
    AND list_size(active_addons) BETWEEN 3 AND 99
    AND channel = 'release' AND app_name = 'Firefox'
    AND submission_date_s3 >= $from AND submission_date_s3 <= $end
  GROUP BY client_id
),
valid AS (
  SELECT client_id, city, subsession_hours_sum, locale, os, bookmark_count, tab_open_count,
         total_uri, unique_tlds, pos, addon['addon_id'] AS guid
  FROM (SELECT s.*, unnest(s.active_addons) AS addon, unnest(range(list_size(s.active_addons))) AS pos
        FROM latest AS l JOIN sample AS s ON s.client_id = l.client_id AND s.submission_date_s3 = l.day)
  WHERE NOT coalesce(addon['is_system'], false)
    AND NOT coalesce(addon['app_disabled'], false)
    AND NOT coalesce(addon['user_disabled'], false)
    AND NOT coalesce(addon['foreign_install'], false)
    AND addon['type'] = 'extension'
    AND array_has($whitelist, addon['addon_id'])
)
-- One row per client, grouped by its features too (the same on all its
-- add-on rows) rather than joined back.
SELECT client_id, city, subsession_hours_sum, locale, os, bookmark_count, tab_open_count, total_uri, unique_tlds,
       array_agg(named_struct('pos', pos, 'guid', guid)) AS addons,
       array_agg(spark_hashing_tf_index(guid, $num_features)) AS terms
FROM valid
GROUP BY client_id, city, subsession_hours_sum, locale, os, bookmark_count, tab_open_count, total_uri, unique_tlds
HAVING count(*) > 2
