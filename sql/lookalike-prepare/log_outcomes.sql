-- Rows of each raw log by the first cleaning rule they fail, for the job's
-- log. Rows that pass all four are kept unless their did has no single
-- persona; the job counts those as the difference to the rows written.
SELECT
    is_click,
    CASE
        WHEN naive_utc_seconds(action_time) IS NULL THEN 'malformed time'
        WHEN action_time < $start_time OR action_time >= $end_time THEN 'outside the dates'
        WHEN NOT coalesce(array_has($slot_ids, slot_id), false) THEN 'slot id not in the list'
        WHEN NOT coalesce(array_has($apps, spread_app_id), false) THEN 'app without an effective keyword'
        ELSE 'passed'
    END AS outcome,
    count(*) AS n
FROM raw_logs
GROUP BY 1, 2
