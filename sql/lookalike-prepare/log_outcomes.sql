-- Rows of each raw log by the first cleaning rule they fail, for the job's
-- log. Rows that pass all four are kept unless their did has no single
-- persona; the job counts those as the difference to the rows written.
-- Rows are grouped by the rule's number and named after: hashing a name
-- per row cost a fifth of the step.
WITH outcomes AS (
    SELECT
        is_click,
        CASE
            WHEN naive_utc_seconds(action_time) IS NULL THEN 1
            WHEN action_time < $start_time OR action_time >= $end_time THEN 2
            WHEN NOT coalesce(array_has($slot_ids, slot_id), false) THEN 3
            WHEN NOT coalesce(array_has($apps, spread_app_id), false) THEN 4
            ELSE 5
        END AS rule,
        count(*) AS n
    FROM raw_logs
    GROUP BY 1, 2
)
SELECT
    is_click,
    CASE rule
        WHEN 1 THEN 'malformed time'
        WHEN 2 THEN 'outside the dates'
        WHEN 3 THEN 'slot id not in the list'
        WHEN 4 THEN 'app without an effective keyword'
        ELSE 'passed'
    END AS outcome,
    n
FROM outcomes
