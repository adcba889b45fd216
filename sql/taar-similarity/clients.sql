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
         row_number() OVER (PARTITION BY client_id ORDER BY submission_date_s3 DESC) AS rn
  FROM clients_daily
  WHERE client_id IS NOT NULL AND active_addons IS NOT NULL
    AND cardinality(active_addons) > 2 AND cardinality(active_addons) < 100
    AND channel = 'release' AND app_name = 'Firefox'
    AND submission_date_s3 >= $from AND submission_date_s3 <= $end
),
valid AS (
  SELECT client_id, city, subsession_hours_sum, locale, os, bookmark_count, tab_open_count,
         total_uri, unique_tlds, pos, addon['addon_id'] AS guid
  FROM (SELECT *, unnest(active_addons) AS addon, unnest(range(cardinality(active_addons))) AS pos
        FROM sample WHERE rn = 1)
  WHERE NOT coalesce(addon['is_system'], false)
    AND NOT coalesce(addon['app_disabled'], false)
    AND NOT coalesce(addon['user_disabled'], false)
    AND NOT coalesce(addon['foreign_install'], false)
    AND addon['type'] = 'extension'
    AND array_has($whitelist, addon['addon_id'])
)
-- One row per client, grouped by its features too (the same on all its
-- add-on rows) rather than joined back, so the window runs once.
SELECT client_id, city, subsession_hours_sum, locale, os, bookmark_count, tab_open_count, total_uri, unique_tlds,
       array_agg(named_struct('pos', pos, 'guid', guid)) AS addons,
       array_agg(spark_hashing_tf_index(guid, $num_features)) AS terms
FROM valid
GROUP BY client_id, city, subsession_hours_sum, locale, os, bookmark_count, tab_open_count, total_uri, unique_tlds
HAVING count(*) > 2
