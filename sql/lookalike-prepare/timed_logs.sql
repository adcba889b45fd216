-- Clean shows and clicks in the dates with their epoch seconds (NULL when
-- the time is malformed), the input of unified_logs.sql.
WITH logs AS (
    SELECT did, 0 AS is_click, action_time, keyword, keyword_index, media, net_type,
           gender, age, adv_id, day, did_bucket
    FROM clean_showlog
    UNION ALL
    SELECT did, 1 AS is_click, action_time, keyword, keyword_index, media, net_type,
           gender, age, adv_id, day, did_bucket
    FROM clean_clicklog
)
SELECT *, naive_utc_seconds(action_time) AS seconds
FROM logs
WHERE day >= $start_day AND day <= $end_day
  AND action_time >= $start_time AND action_time < $end_time
