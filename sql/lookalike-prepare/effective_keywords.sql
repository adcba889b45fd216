-- Effective keywords (main_keywords.py): keywords whose share of the shows
-- of mapped apps in [$start_time, $end_time) is above $threshold, strictly.
-- Shows of apps without a keyword do not count in the total. The total is a
-- window over the per-keyword counts: a second reference to the CTE would
-- scan the show log twice.
WITH shows AS (
    SELECT k.keyword, count(*) AS shows
    FROM ads_showlog s
    JOIN ad_keywords k ON s.spread_app_id = k.spread_app_id
    WHERE s.show_time >= $start_time AND s.show_time < $end_time
      AND naive_utc_seconds(s.show_time) IS NOT NULL
    GROUP BY k.keyword
)
SELECT keyword
FROM (SELECT keyword, shows, sum(shows) OVER () AS total FROM shows)
WHERE shows > $threshold * total
