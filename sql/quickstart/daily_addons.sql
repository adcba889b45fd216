-- Quickstart report, per day and locale: active clients, usage hours, and the
-- most installed enabled add-on. Run by `fletch quickstart` through the
-- sql-file job; try it yourself with
--   fletch run sql-file --sql sql/quickstart/daily_addons.sql --data-root D --output-root O
WITH installs AS (
  SELECT day, locale, unnest(addons) AS addon FROM events
),
ranked AS (
  SELECT day, locale, addon['addon_id'] AS addon_id, count(*) AS installs,
         row_number() OVER (PARTITION BY day, locale ORDER BY count(*) DESC, addon['addon_id']) AS rank
  FROM installs
  WHERE addon['enabled']
  GROUP BY day, locale, addon['addon_id']
),
usage AS (
  SELECT day, locale, count(DISTINCT client_id) AS clients, round(sum(hours), 1) AS hours
  FROM events
  GROUP BY day, locale
)
SELECT u.day, u.locale, u.clients, u.hours, r.addon_id AS top_addon, r.installs AS top_addon_installs
FROM usage AS u
JOIN ranked AS r ON r.day = u.day AND r.locale = u.locale AND r.rank = 1
ORDER BY u.day, u.locale
