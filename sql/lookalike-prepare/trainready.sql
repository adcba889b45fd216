-- Train-ready (main_trainready.py): one row per did with its keyword history,
-- newest interval first, keywords of an interval by index (keyword_histories,
-- which needs no ordered aggregate). did_index = bucket * 10^9 + the did's
-- rank in its bucket. age, gender and bucket are the persona's, constant per
-- did; the bucket is grouped by, not aggregated (a string max per row).
-- The rows are distributed by user before they are aggregated: each user's
-- history is built in one place, not built in parts and then merged.
WITH logs AS (
    SELECT did, did_bucket, age, gender, interval_starting_time, keyword_index, keyword, is_click
    FROM unified_logs
    WHERE day >= $start_day AND day <= $end_day
      AND action_time >= $start_time AND action_time < $end_time
    DISTRIBUTE BY did, did_bucket
),
users AS (
    SELECT
        did,
        did_bucket,
        max(age) AS age,
        max(gender) AS gender,
        keyword_histories(interval_starting_time, keyword_index, keyword, 1 - is_click, is_click) AS h
    FROM logs
    GROUP BY did, did_bucket
)
SELECT
    age,
    gender,
    did,
    CAST(did_bucket AS BIGINT) * 1000000000
        + CAST(row_number() OVER (PARTITION BY did_bucket ORDER BY did) AS BIGINT) AS did_index,
    h['interval_starting_time'] AS interval_starting_time,
    h['interval_keywords'] AS interval_keywords,
    h['kwi'] AS kwi,
    h['kwi_show_counts'] AS kwi_show_counts,
    h['kwi_click_counts'] AS kwi_click_counts,
    did_bucket
FROM users
