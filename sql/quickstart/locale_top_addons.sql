-- Quickstart report over generated clients_daily: per locale, the three
-- curated add-ons most clients have enabled on their latest day (release
-- Firefox only). A preview of what the taar-locale job computes, without its
-- differential privacy. `fletch quickstart` writes the curated whitelist as
-- the table `curated` (guid) beside the generated data and runs this file
-- with the sql-file job.
WITH latest AS (
  SELECT client_id, locale, active_addons,
         row_number() OVER (PARTITION BY client_id ORDER BY submission_date_s3 DESC) AS rn
  FROM clients_daily
  WHERE app_name = 'Firefox' AND channel = 'release' AND client_id IS NOT NULL
),
enabled AS (
  SELECT locale, client_id, addon['addon_id'] AS guid
  FROM (SELECT locale, client_id, unnest(active_addons) AS addon FROM latest WHERE rn = 1)
  WHERE addon['type'] = 'extension' AND NOT addon['user_disabled'] AND NOT addon['app_disabled']
    AND NOT addon['is_system'] AND locale IS NOT NULL AND locale <> 'null'
),
counted AS (
  SELECT locale, guid, count(DISTINCT client_id) AS clients
  FROM enabled
  WHERE guid IN (SELECT guid FROM curated)
  GROUP BY locale, guid
)
SELECT locale, rank, guid, clients
FROM (SELECT *, row_number() OVER (PARTITION BY locale ORDER BY clients DESC, guid) AS rank FROM counted)
WHERE rank <= 3
ORDER BY locale, rank
