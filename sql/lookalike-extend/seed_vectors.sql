-- mean-top10: the seeds' vectors, for the driver to hand to every task.
SELECT v.did, v.vector
FROM user_vectors AS v
JOIN seed_users AS s ON v.did = s.did
ORDER BY v.did
