-- Seeds given, and found in the score table (the others are skipped).
SELECT count(*) AS given, count(u.did) AS found
FROM seed_users AS s
LEFT JOIN (SELECT DISTINCT did FROM lookalike_score WHERE kws IS NOT NULL) AS u ON s.did = u.did
