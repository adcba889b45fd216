-- The users whose similar users are found (buckets below $did_bucket_size),
-- in blocks of $block_users by did: one folder, and one task, per block.
SELECT did, score_vector, c1, did_bucket,
       CAST((row_number() OVER (ORDER BY did) - 1) / $block_users AS BIGINT) AS block
FROM lookalike_score_vector
WHERE CAST(did_bucket AS BIGINT) < $did_bucket_size
