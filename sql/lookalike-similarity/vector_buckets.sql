-- The user buckets of the score vectors (the default bucket sizes).
SELECT DISTINCT CAST(did_bucket AS BIGINT) AS bucket FROM lookalike_score_vector ORDER BY bucket
