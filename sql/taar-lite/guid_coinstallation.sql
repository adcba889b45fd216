-- guid_coinstallation: how often each valid add-on (valid_addons.sql, less
-- Pioneer) is installed next to each other one, counted within each row as
-- the original does. Add-ons are paired by position, so a guid listed twice
-- in a row is co-installed with itself (twice: once from each position).
-- Each pair counts its row's weight.
--
-- A row's pairs come from unnesting its list twice, each time with the
-- positions beside it (unnests in one SELECT run in step): no row is
-- grouped, so the only shuffle is the count's. A list of one guid makes
-- only its own position's pair and needs no filter: `list_size(guids) > 1`
-- is pushed below the latest-day join, where it runs the lambda on 16× the
-- rows (docs/performance.md).
WITH listed AS (
  SELECT weight, array_remove_all(guids, 'pioneer-opt-in@mozilla.org') AS guids FROM valid_addons
),
firsts AS (
  SELECT weight, guids, unnest(guids) AS key_addon, unnest(range(list_size(guids))) AS i
  FROM listed
),
pairs AS (
  SELECT weight, key_addon, i, unnest(guids) AS coinstalled_addon, unnest(range(list_size(guids))) AS j
  FROM firsts
)
SELECT key_addon, coinstalled_addon, sum(weight) AS n
FROM pairs
WHERE i <> j
GROUP BY key_addon, coinstalled_addon
