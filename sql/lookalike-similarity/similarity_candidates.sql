-- The candidates (buckets below $cross_bucket_size), one folder per bucket,
-- which every block reads in bucket order.
SELECT did, score_vector, c1, CAST(did_bucket AS BIGINT) AS bucket
FROM lookalike_score_vector
WHERE CAST(did_bucket AS BIGINT) < $cross_bucket_size
