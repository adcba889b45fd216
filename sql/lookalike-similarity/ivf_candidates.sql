-- The candidates by inverted list (their nearest centroid): one folder per
-- list, which the blocks read for the lists their users probe.
SELECT did, score_vector, c1, nearest_centroid(score_vector, $centroids) AS list
FROM lookalike_score_vector
WHERE CAST(did_bucket AS BIGINT) < $cross_bucket_size
