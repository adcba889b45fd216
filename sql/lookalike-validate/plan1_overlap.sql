-- Plan 1 (validation_plan_1.py, its literal-key bug fixed): of $plan1_sample
-- scored users chosen by $seed, the $plan1_top by actual interest in the
-- keyword (test clicks over shows, 0 without a show) and the $plan1_top by
-- their score for it ($keyword): how many are in both.
WITH sampled AS (
    SELECT did, map_extract(kws, $keyword)[1] AS score
    FROM lookalike_score
    WHERE kws IS NOT NULL
    ORDER BY seeded_hash($seed + 1, did), did
    LIMIT $plan1_sample
),
ranked AS (
    SELECT s.did,
           row_number() OVER (ORDER BY CASE WHEN h.shows > 0 THEN CAST(h.clicks AS DOUBLE) / h.shows ELSE 0 END DESC, s.did) AS by_interest,
           row_number() OVER (ORDER BY s.score DESC NULLS LAST, s.did) AS by_score
    FROM sampled AS s LEFT JOIN test_history AS h ON s.did = h.did
)
SELECT count(*) AS sampled,
       count(*) FILTER (WHERE by_interest <= $plan1_top AND by_score <= $plan1_top) AS overlap
FROM ranked
