-- The vectors the IVF centroids are trained on: $sample_size candidates
-- chosen by $seed.
SELECT score_vector FROM (
    SELECT score_vector, row_number() OVER (ORDER BY seeded_hash($seed, did)) AS pick
    FROM lookalike_score_vector
    WHERE CAST(did_bucket AS BIGINT) < $cross_bucket_size
) AS ranked
WHERE pick <= $sample_size
