-- The audience's size and score range, for the summary.
SELECT count(*) AS users, min(score) AS min_score, max(score) AS max_score
FROM lookalike_extended_audience
