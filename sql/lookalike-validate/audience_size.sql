-- The audience's size: the random group's.
SELECT count(*) AS users FROM lookalike_extended_audience
