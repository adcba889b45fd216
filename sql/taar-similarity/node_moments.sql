-- node_moments: every client placed in the bisecting k-means tree $model
-- (JSON, see bisecting_kmeans_leaf), and per leaf the exact term sums that
-- give its size, center and cost: one k-means step for all the clusters
-- being split. Runs on the executors; only the summaries come back.
SELECT bisecting_kmeans_leaf(terms, $model) AS node, term_moments(terms) AS moments
FROM clients
GROUP BY 1
