-- Effective keywords (main_keywords.py): keywords whose share of the shows
-- of mapped apps in [$start_time, $end_time) is above $threshold, strictly.
-- Shows of apps without a keyword do not count in the total. Shows are
-- counted by log_profile.sql (rules 3 and 4: a well-formed time in the dates).
WITH shows AS (
    SELECT k.keyword, sum(p.n) AS shows
    FROM log_profile p
    JOIN ad_keywords k ON p.spread_app_id = k.spread_app_id
    WHERE p.is_click = 0 AND p.rule >= 3
    GROUP BY k.keyword
)
SELECT keyword
FROM (SELECT keyword, shows, sum(shows) OVER () AS total FROM shows)
WHERE shows > $threshold * total
