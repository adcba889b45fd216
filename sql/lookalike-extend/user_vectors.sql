-- mean-top10: each user's scores over $keywords, over their L2 norm for the
-- dot product (the original's kws_norm), as they are for the euclidean distance.
SELECT did,
       CASE WHEN $normalized THEN score_vector(normalize_scores(kws), $keywords)
            ELSE score_vector(kws, $keywords) END AS vector
FROM lookalike_score
WHERE kws IS NOT NULL
