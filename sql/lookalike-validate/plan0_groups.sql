-- Plan 0 (validation_plan_0.py): clicks on the keyword in the test table's
-- newest interval, by the extended audience and by as many random users.
-- A user missing from the test table counts as one without a click.
SELECT 'audience' AS users_of, count(*) AS users,
       count(*) FILTER (WHERE h.newest_clicks > 0) AS clickers,
       COALESCE(sum(h.newest_clicks), 0) AS clicks
FROM lookalike_extended_audience AS a LEFT JOIN test_history AS h ON a.did = h.did
UNION ALL
SELECT 'random', count(*),
       count(*) FILTER (WHERE h.newest_clicks > 0),
       COALESCE(sum(h.newest_clicks), 0)
FROM random_users AS r LEFT JOIN test_history AS h ON r.did = h.did
