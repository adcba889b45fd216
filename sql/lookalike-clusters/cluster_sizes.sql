-- Users per k-means cluster, for the driver to balance.
SELECT kmeans_cluster, count(*) AS users
FROM clustered_users
GROUP BY kmeans_cluster
ORDER BY kmeans_cluster
