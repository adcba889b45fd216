-- Every user with its k-means cluster, the nearest of $centroids.
SELECT did, score_vector, c1, did_bucket, nearest_centroid(score_vector, $centroids) AS kmeans_cluster
FROM lookalike_score_vector
