-- One score vector per user over $keywords (missing keywords score 0.0), and
-- c1, its squared norm summed in double precision (score_vector_table).
SELECT did, score_vector, squared_norm(score_vector) AS c1, did_bucket
FROM (SELECT did, score_vector(kws, $keywords) AS score_vector, did_bucket FROM lookalike_score)
