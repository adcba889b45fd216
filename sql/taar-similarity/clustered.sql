-- clustered: every clustered client with its cluster: its leaf of the final
-- tree $model, numbered by $leaves (leaf node ids, cluster 0 first).
SELECT *, CAST(array_position($leaves, bisecting_kmeans_leaf(terms, $model)) AS BIGINT) - 1 AS prediction
FROM clients
