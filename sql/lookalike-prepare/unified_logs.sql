-- Unified logs (main_logs.join_logs): shows and clicks in one table, times as
-- 32-bit epoch seconds read as UTC and the start of their interval. Rows
-- whose time is malformed or outside 32 bits are left out (rejected_times.sql).
SELECT
    did,
    CAST(is_click AS INT) AS is_click,
    action_time, keyword, keyword_index, media, net_type, gender, age, adv_id,
    CAST(seconds - ((seconds % $interval) + $interval) % $interval AS INT) AS interval_starting_time,
    CAST(seconds AS INT) AS action_time_seconds,
    day,
    did_bucket
FROM timed_logs
WHERE seconds BETWEEN -2147483648 AND 2147483647
