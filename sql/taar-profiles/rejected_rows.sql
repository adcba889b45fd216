-- rejected_rows: how many latest subsessions did not become a profile, and why.
-- One grouped aggregate (no UNION with a global one: Ballista 55 runs such a
-- branch once per output partition and repeats its row).
SELECT
  coalesce(problem, 'tied for the latest start (one kept per client)') AS problem,
  CASE WHEN problem IS NULL THEN count(*) - count(DISTINCT client_id) ELSE count(*) END AS row_count
FROM profile_candidates
GROUP BY problem
ORDER BY 1
