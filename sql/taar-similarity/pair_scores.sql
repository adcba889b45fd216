-- pair_scores: the similarity samples behind the likelihood-ratio curves,
-- over the donors. Each cluster's donors in a seeded random order are paired
-- 1st with 2nd, 3rd with 4th, ... ('intra': the original paired two random
-- halves index-wise). The i-th of them is also paired with the i-th donor of
-- the other clusters, in a seeded order drawn per cluster, for i up to the
-- smaller count ('inter': the original's non-cartesian zip). Scores are
-- TAAR's client distance.
WITH features AS (
  SELECT client_id, prediction,
         [city, locale, os] AS categorical,
         [subsession_hours_sum, bookmark_count, CAST(tab_open_count AS DOUBLE),
          CAST(total_uri AS DOUBLE), unique_tlds] AS continuous
  FROM donors
),
own AS (
  SELECT prediction AS c, categorical, continuous,
         row_number() OVER (PARTITION BY prediction ORDER BY seeded_hash($seed, 'own/' || client_id), client_id) AS i
  FROM features
),
others AS (
  SELECT own.c, f.categorical, f.continuous,
         row_number() OVER (PARTITION BY own.c
                            ORDER BY seeded_hash($seed, 'other/' || CAST(own.c AS VARCHAR) || '/' || f.client_id), f.client_id) AS i
  FROM (SELECT DISTINCT c FROM own) AS own
  JOIN features AS f ON f.prediction <> own.c
)
SELECT 'intra' AS kind, taar_distance(a.categorical, a.continuous, b.categorical, b.continuous) AS score
FROM own AS a JOIN own AS b ON a.c = b.c AND b.i = a.i + 1
WHERE a.i % 2 = 1
UNION ALL
SELECT 'inter' AS kind, taar_distance(a.categorical, a.continuous, b.categorical, b.continuous) AS score
FROM own AS a JOIN others AS b ON a.c = b.c AND a.i = b.i
