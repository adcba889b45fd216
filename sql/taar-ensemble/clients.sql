-- clients: the ensemble's training clients, one row each, as the original's
-- row_to_json gives them to TAAR's recommenders: those with more than
-- $min_installed valid add-ons that have an install day (valid as in
-- valid_addons.sql, without the whitelist; a NULL flag counts as false),
-- sorted by install day (ties in list order); the last one installed is
-- held out as `expected`, the others are `installed`. Strings are '' for
-- NULL; numbers are truncated to integers, 0 for NULL, NaN or ±inf (Python's
-- int() raising), the hours in seconds.
WITH valid AS (
  SELECT * EXCLUDE (addon), addon['addon_id'] AS guid, addon['install_day'] AS install_day
  FROM addon_rows
  WHERE NOT coalesce(addon['is_system'], false)
    AND NOT coalesce(addon['app_disabled'], false)
    AND NOT coalesce(addon['user_disabled'], false)
    AND NOT coalesce(addon['foreign_install'], false)
    AND addon['type'] = 'extension'
    AND addon['install_day'] IS NOT NULL
),
per_client AS (
  SELECT client_id, geo_city, subsession_length, locale, os, bookmark_count, tab_open_count, total_uri, unique_tlds,
         array_agg(guid ORDER BY install_day, pos) AS addons
  FROM valid
  GROUP BY client_id, geo_city, subsession_length, locale, os, bookmark_count, tab_open_count, total_uri, unique_tlds
  HAVING count(*) > $min_installed
)
SELECT client_id,
       coalesce(geo_city, '') AS geo_city, coalesce(locale, '') AS locale, coalesce(os, '') AS os,
       coalesce(CAST(subsession_length * 3600 AS BIGINT), 0) AS subsession_length,
       -- x - x = 0 holds for finite doubles only.
       CASE WHEN bookmark_count - bookmark_count = 0 THEN CAST(trunc(bookmark_count) AS BIGINT) ELSE 0 END AS bookmark_count,
       coalesce(tab_open_count, 0) AS tab_open_count,
       coalesce(total_uri, 0) AS total_uri,
       coalesce(unique_tlds, 0) AS unique_tlds,
       array_pop_back(addons) AS installed,
       [array_element(addons, -1)] AS expected
FROM per_client
