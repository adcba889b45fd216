-- locale_counts: clients per (locale, whitelisted add-on) after capping each
-- client at $limit whitelisted add-ons (a uniformly random subset, reproducible
-- by the seed). Every locale seen before the whitelist filter also gets one
-- row with a NULL add-on, so the driver knows the original's limit table
-- (every locale, cap $limit) from this single pass.
WITH marked AS (
  SELECT locale, client_id, addon, array_has($whitelist, addon) AS listed
  FROM client_addons
),
picked AS (
  SELECT locale, addon, listed,
         row_number() OVER (
           PARTITION BY client_id, listed
           ORDER BY seeded_hash($seed, client_id || '/' || addon), addon
         ) AS pick
  FROM marked
)
SELECT locale,
       CASE WHEN listed THEN addon END AS addon,
       sum(CASE WHEN listed THEN 1 ELSE 0 END) AS clients
FROM picked
WHERE NOT listed OR pick <= $limit
GROUP BY locale, CASE WHEN listed THEN addon END
