-- The balanced clusters' sizes, for the log.
SELECT count(*) AS clusters, min(users) AS smallest, max(users) AS largest, sum(users) AS users
FROM (SELECT cluster_id, count(*) AS users FROM lookalike_balanced_clusters GROUP BY cluster_id) AS sizes
