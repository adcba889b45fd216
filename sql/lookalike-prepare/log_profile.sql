-- Rows of both raw logs by app and by the first cleaning rule they fail of
-- the three that do not need the effective keywords: 1 malformed time,
-- 2 outside the dates, 3 slot id not in the list, 4 passed these three.
-- One scan serves the effective keywords (effective_keywords.sql) and the
-- dropped-row counts (log_outcomes.sql). Without the clean stage $slot_ids
-- is empty and rows of rule 4 count under 3: effective keywords add both.
-- Rules are numbers: hashing a name per row cost a fifth of the scan.
SELECT
    is_click,
    spread_app_id,
    CASE
        WHEN naive_utc_seconds(action_time) IS NULL THEN 1
        WHEN action_time < $start_time OR action_time >= $end_time THEN 2
        WHEN NOT coalesce(array_has($slot_ids, slot_id), false) THEN 3
        ELSE 4
    END AS rule,
    count(*) AS n
FROM raw_logs
GROUP BY 1, 2, 3
