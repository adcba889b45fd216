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
  SELECT client_id, submission_date_s3, active_addons
  FROM clients_daily
  WHERE active_addons IS NOT NULL AND list_size(active_addons) > 1
    AND channel = 'release' AND normalized_channel = 'release' AND app_name = 'Firefox'
    AND client_id IS NOT NULL
    AND submission_date_s3 > $start AND submission_date_s3 <= $end
),
-- Each client's latest day and day count by aggregate and join: a window over
-- client_id would sort every row with its add-on list. It scans
-- clients_daily_sizes, where the add-on lists cost a sixth to decode, with
-- the same filter as sample. The small side comes first: DataFusion builds
-- its hash table from the left input.
clients AS (
  SELECT client_id, max(submission_date_s3) AS latest, count(*) AS days
  FROM clients_daily_sizes
  WHERE active_addons IS NOT NULL AND list_size(active_addons) > 1
    AND channel = 'release' AND normalized_channel = 'release' AND app_name = 'Firefox'
    AND client_id IS NOT NULL
    AND submission_date_s3 > $start AND submission_date_s3 <= $end
  GROUP BY client_id
),
kept AS (
  SELECT s.client_id, s.submission_date_s3 AS day, CASE WHEN $legacy THEN c.days ELSE 1 END AS weight, s.active_addons
  FROM clients AS c JOIN sample AS s ON s.client_id = c.client_id
  WHERE $legacy OR s.submission_date_s3 = c.latest
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
-- weight is the same on every row of a client, so it is carried as an
-- aggregate, not grouped by: as a key, its constant 1 put DataFusion's
-- aggregation into its partially sorted mode, which emitted 4× slower.
multiplicity AS (
  SELECT client_id, day, guid, max(weight) AS weight, count(*) AS m
  FROM valid
  GROUP BY client_id, day, guid
),
-- Each client-day's distinct guids with their multiplicities. Pairs come from
-- unnesting that list twice: a join of multiplicity with itself would plan
-- (and read clients_daily for) every step above twice.
listed AS (
  SELECT max(weight) AS weight, array_agg(named_struct('guid', guid, 'm', m)) AS items
  FROM multiplicity
  GROUP BY client_id, day
  HAVING sum(m) > 1
),
firsts AS (
  SELECT weight, items, unnest(items) AS a FROM listed
),
pairs AS (
  SELECT weight, key_addon, ma, b['guid'] AS coinstalled_addon, b['m'] AS mb
  FROM (SELECT weight, a['guid'] AS key_addon, a['m'] AS ma, unnest(items) AS b FROM firsts)
),
-- Filtered by alias, not HAVING: Ballista 55 fails to decode a HAVING that
-- repeats an aggregate over struct fields.
counted AS (
  SELECT key_addon, coinstalled_addon,
         sum(weight * CASE WHEN key_addon = coinstalled_addon THEN ma * (ma - 1) ELSE ma * mb END) AS n
  FROM pairs
  GROUP BY key_addon, coinstalled_addon
)
SELECT key_addon, coinstalled_addon, n FROM counted WHERE n > 0
