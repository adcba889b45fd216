-- rejected_rows: how many latest subsessions did not become a profile, and why.
SELECT problem, count(*) AS row_count
FROM profile_candidates
WHERE problem IS NOT NULL
GROUP BY problem
UNION ALL
SELECT 'tied for the latest start (one kept per client)', count(*) - count(DISTINCT client_id)
FROM profile_candidates
WHERE problem IS NULL
ORDER BY problem
