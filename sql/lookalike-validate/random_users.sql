-- Plan 0's baseline: as many scored users as the audience holds, no seed,
-- chosen by $seed (the original's orderBy(rand())).
SELECT did FROM lookalike_score
WHERE kws IS NOT NULL AND did NOT IN (SELECT did FROM seed_users)
ORDER BY seeded_hash($seed, did), did
LIMIT $audience_users
