-- The extended audience: the $audience_size best candidates that are no
-- seed and score at least $min_score, best first (ties by did).
SELECT did, CAST(score AS DOUBLE) AS score
FROM audience_candidates
WHERE did NOT IN (SELECT did FROM seed_users)
  AND score >= $min_score
ORDER BY score DESC, did
LIMIT $audience_size
