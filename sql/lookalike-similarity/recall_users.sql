-- The users whose approximate lists are checked against exact ones:
-- $recall_sample of them, chosen by $seed.
SELECT did, score_vector, c1, did_bucket FROM (
    SELECT did, score_vector, c1, did_bucket, row_number() OVER (ORDER BY seeded_hash($seed, did)) AS pick
    FROM lookalike_score_vector
    WHERE CAST(did_bucket AS BIGINT) < $did_bucket_size
) AS ranked
WHERE pick <= $recall_sample
