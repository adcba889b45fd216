-- Seeds given, and found in the similarity table (the others are skipped).
SELECT count(*) AS given, count(l.did) AS found
FROM seed_users AS s
LEFT JOIN (SELECT DISTINCT did FROM lookalike_similarity) AS l ON s.did = l.did
