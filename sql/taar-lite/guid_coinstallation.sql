-- guid_coinstallation: how often each valid add-on is installed next to each
-- other one. A client's valid add-ons (Python truthiness as the original:
-- NULL flags count as false; type must be 'extension'; in the external
-- whitelist; not Pioneer) are paired by position, so a guid listed twice is
-- co-installed with itself: a guid with multiplicity m pairs m·(m−1) times
-- with itself and m·n times with one of multiplicity n.
--
-- One row per client (its latest qualifying day) unless $legacy, which keeps
-- every client-day and weights it by the client's number of qualifying days,
-- reproducing the original's client-day × client-day join.
WITH sample AS (
  SELECT client_id, submission_date_s3, active_addons,
         row_number() OVER (PARTITION BY client_id ORDER BY submission_date_s3 DESC) AS latest,
         count(*) OVER (PARTITION BY client_id) AS days
  FROM clients_daily
  WHERE active_addons IS NOT NULL AND cardinality(active_addons) > 1
    AND channel = 'release' AND normalized_channel = 'release' AND app_name = 'Firefox'
    AND client_id IS NOT NULL
    AND submission_date_s3 > $start AND submission_date_s3 <= $end
),
kept AS (
  SELECT client_id, submission_date_s3 AS day, CASE WHEN $legacy THEN days ELSE 1 END AS weight, active_addons
  FROM sample
  WHERE $legacy OR latest = 1
),
valid AS (
  SELECT client_id, day, weight, addon['addon_id'] AS guid
  FROM (SELECT client_id, day, weight, unnest(active_addons) AS addon FROM kept)
  WHERE NOT coalesce(addon['is_system'], false)
    AND NOT coalesce(addon['app_disabled'], false)
    AND NOT coalesce(addon['user_disabled'], false)
    AND NOT coalesce(addon['foreign_install'], false)
    AND addon['type'] = 'extension'
    AND array_has($whitelist, addon['addon_id'])
    AND addon['addon_id'] <> 'pioneer-opt-in@mozilla.org'
),
multiplicity AS (
  SELECT client_id, day, weight, guid, count(*) AS m, sum(count(*)) OVER (PARTITION BY client_id, day) AS listed
  FROM valid
  GROUP BY client_id, day, weight, guid
)
SELECT a.guid AS key_addon, b.guid AS coinstalled_addon,
       sum(a.weight * CASE WHEN a.guid = b.guid THEN a.m * (a.m - 1) ELSE a.m * b.m END) AS n
FROM multiplicity AS a
JOIN multiplicity AS b ON a.client_id = b.client_id AND a.day = b.day
WHERE a.listed > 1
GROUP BY a.guid, b.guid
HAVING sum(a.weight * CASE WHEN a.guid = b.guid THEN a.m * (a.m - 1) ELSE a.m * b.m END) > 0
