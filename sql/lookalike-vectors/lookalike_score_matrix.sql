-- One row per bucket with its users' vectors as a matrix (score_matrix_table):
-- did_list, score_matrix and c1_list aligned, users by did.
SELECT array_agg(did ORDER BY did) AS did_list,
       array_agg(score_vector ORDER BY did) AS score_matrix,
       array_agg(c1 ORDER BY did) AS c1_list,
       did_bucket
FROM lookalike_score_vector
GROUP BY did_bucket
