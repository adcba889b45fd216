-- The times unified_logs.sql leaves out, most frequent first.
SELECT action_time, count(*) AS n
FROM timed_logs
WHERE seconds IS NULL OR seconds NOT BETWEEN -2147483648 AND 2147483647
GROUP BY action_time
ORDER BY n DESC, action_time
