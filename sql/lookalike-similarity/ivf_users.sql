-- --method ivf: the users whose similar users are found, ordered by their
-- nearest centroid and cut into blocks of $block_users, so a block's users
-- probe a few lists in common rather than nearly every one.
SELECT did, score_vector, c1, did_bucket,
       CAST((row_number() OVER (ORDER BY nearest_centroid(score_vector, $centroids), did) - 1) / $block_users AS BIGINT) AS block
FROM lookalike_score_vector
WHERE CAST(did_bucket AS BIGINT) < $did_bucket_size
