-- From signup to first transaction, per country and plan: how many users
-- signed up, were seen in the access logs (a request naming them or their
-- account), opened an account, and made a transaction; and the days from
-- signup to the first transaction (mean and the slowest), over those who did.
-- Dates may arrive as DATE/TIMESTAMP (PostgreSQL, MySQL) or ISO text (SQLite).
-- Run with sql-file over `behaviour` (access-logs) and the imported
-- `users`, `accounts` and `transactions` (db-import).
WITH seen AS (
  SELECT DISTINCT coalesce(CAST(b.params['user_id'] AS BIGINT), CAST(a.user_id AS BIGINT)) AS user_id
  FROM behaviour b
  LEFT JOIN accounts a ON CAST(a.account_id AS BIGINT) = CAST(b.params['account_id'] AS BIGINT)
),
opened AS (
  SELECT DISTINCT CAST(user_id AS BIGINT) AS user_id FROM accounts
),
first_transaction AS (
  SELECT CAST(a.user_id AS BIGINT) AS user_id, min(CAST(t.created_at AS TIMESTAMP)) AS first_at
  FROM transactions t
  JOIN accounts a ON a.account_id = t.account_id
  GROUP BY CAST(a.user_id AS BIGINT)
),
funnel AS (
  SELECT u.country, u.plan,
         s.user_id IS NOT NULL AS was_seen,
         o.user_id IS NOT NULL AS has_account,
         f.first_at IS NOT NULL AS transacted,
         CAST(f.first_at AS DATE) - CAST(u.signup_date AS DATE) AS days_to_first
  FROM users u
  LEFT JOIN seen s ON s.user_id = CAST(u.user_id AS BIGINT)
  LEFT JOIN opened o ON o.user_id = CAST(u.user_id AS BIGINT)
  LEFT JOIN first_transaction f ON f.user_id = CAST(u.user_id AS BIGINT)
)
SELECT country, plan,
       count(*) AS signed_up,
       count(*) FILTER (WHERE was_seen) AS seen,
       count(*) FILTER (WHERE has_account) AS with_account,
       count(*) FILTER (WHERE transacted) AS transacted,
       avg(days_to_first) AS mean_days_to_first,
       max(days_to_first) AS max_days_to_first
FROM funnel
GROUP BY country, plan
ORDER BY country, plan
