-- donors: the donor pool. Cluster c gives its first $quotas[c + 1] clients in
-- a seeded random order; their valid add-ons are listed in `active_addons`
-- order, as the original's donors list them.
WITH picked AS (
  SELECT *, row_number() OVER (PARTITION BY prediction ORDER BY seeded_hash($seed, client_id), client_id) AS pick
  FROM clustered
),
listed AS (
  SELECT client_id, prediction, pick, city, subsession_hours_sum, locale, os, bookmark_count,
         tab_open_count, total_uri, unique_tlds, addon['guid'] AS guid, addon['pos'] AS pos
  FROM (SELECT *, unnest(addons) AS addon FROM picked WHERE pick <= $quotas[prediction + 1])
)
SELECT client_id, prediction, pick, city, subsession_hours_sum, locale, os, bookmark_count,
       tab_open_count, total_uri, unique_tlds, array_agg(guid ORDER BY pos) AS active_addons
FROM listed
GROUP BY client_id, prediction, pick, city, subsession_hours_sum, locale, os, bookmark_count,
         tab_open_count, total_uri, unique_tlds
