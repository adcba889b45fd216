-- mean-top10: the vectors' dimensions, every keyword the seeds were scored on,
-- ascending (the original took a map's own order).
SELECT DISTINCT keyword FROM (
    SELECT unnest(map_keys(u.kws)) AS keyword
    FROM lookalike_score AS u
    JOIN seed_users AS s ON u.did = s.did
) AS k
ORDER BY keyword
