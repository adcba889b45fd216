-- lr_curves: Gaussian kernel density estimates of the within-cluster
-- ('intra', the numerator) and across-cluster ('inter', the denominator)
-- scores, each at $points evenly spaced values over the range of all scores.
-- When every score is the same the range is empty; it is widened to
-- [score, score + $bandwidth) (the original divided by zero).
WITH bounds AS (
  SELECT min(score) AS lo, CASE WHEN max(score) > min(score) THEN max(score) ELSE min(score) + $bandwidth END AS upto
  FROM pair_scores
)
SELECT kind, count(*) AS pairs, lo, upto AS hi, gaussian_kde(score, $bandwidth, lo, upto, $points) AS density
FROM pair_scores CROSS JOIN bounds
GROUP BY kind, lo, upto
