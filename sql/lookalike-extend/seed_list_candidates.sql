-- A large seed set (ssd-v4's User-Selector): the union of the seeds' own
-- similar users, each scored by its best similarity to a seed.
WITH similar AS (
    SELECT unnest(l.top_n_similar_user) AS similar_user
    FROM lookalike_similarity AS l
    JOIN seed_users AS s ON l.did = s.did
),
pairs AS (
    SELECT similar_user['did'] AS did, similar_user['score'] AS score FROM similar
)
SELECT did, max(score) AS score
FROM pairs
GROUP BY did
