-- Rows of each raw log by the first cleaning rule they fail, for the job's
-- log: log_profile.sql's rules, then apps without an effective keyword.
-- Rows that pass all four are kept unless their did has no single persona;
-- the job counts those as the difference to the rows written.
SELECT
    is_click,
    CASE
        WHEN rule = 1 THEN 'malformed time'
        WHEN rule = 2 THEN 'outside the dates'
        WHEN rule = 3 THEN 'slot id not in the list'
        WHEN NOT coalesce(array_has($apps, spread_app_id), false) THEN 'app without an effective keyword'
        ELSE 'passed'
    END AS outcome,
    sum(n) AS n
FROM log_profile
GROUP BY 1, 2
