-- A small seed set (ssd-v4's reverse lookup): the users whose own similar
-- users hold a seed, each scored by its best similarity to one.
WITH similar AS (
    SELECT l.did, unnest(l.top_n_similar_user) AS similar_user
    FROM lookalike_similarity AS l
),
pairs AS (
    SELECT did, similar_user['did'] AS seed, similar_user['score'] AS score FROM similar
)
SELECT did, max(score) AS score
FROM pairs
WHERE seed IN (SELECT did FROM seed_users)
GROUP BY did
