-- guid_coinstallation: how often each valid add-on (valid_addons.sql, less
-- Pioneer) is installed next to each other one. A client-day's add-ons are
-- paired by position, so a guid listed twice is co-installed with itself: a
-- guid with multiplicity m pairs m·(m−1) times with itself and m·n times with
-- one of multiplicity n. Each pair counts the client-day's weight.
--
-- weight is the same on every row of a client, so it is carried as an
-- aggregate, not grouped by: as a key, its constant 1 put DataFusion's
-- aggregation into its partially sorted mode, which emitted 4× slower.
WITH multiplicity AS (
  SELECT client_id, day, guid, max(weight) AS weight, count(*) AS m
  FROM valid_addons
  WHERE guid <> 'pioneer-opt-in@mozilla.org'
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
