-- Requests per day, country, plan and action of the application's users
-- (the blog's "segment behaviour by relational attributes"): `behaviour`
-- from access-logs joined to `users` and `accounts` from db-import by the
-- user or account id the request's route captured. Requests that name no
-- user (the home page, static files, bots' probes) are left out.
-- Run with sql-file, the data root holding the three tables:
--   fletch run sql-file --sql sql/web/actions_by_segment.sql --data-root OUT/web ...
WITH identified AS (
  SELECT b.day, b.action,
         coalesce(CAST(b.params['user_id'] AS BIGINT), CAST(a.user_id AS BIGINT)) AS user_id
  FROM behaviour b
  LEFT JOIN accounts a ON CAST(a.account_id AS BIGINT) = CAST(b.params['account_id'] AS BIGINT)
  WHERE b.action IS NOT NULL
)
SELECT i.day, u.country, u.plan, i.action,
       count(*) AS requests,
       count(DISTINCT i.user_id) AS users
FROM identified i
JOIN users u ON CAST(u.user_id AS BIGINT) = i.user_id
GROUP BY i.day, u.country, u.plan, i.action
ORDER BY i.day, u.country, u.plan, i.action
