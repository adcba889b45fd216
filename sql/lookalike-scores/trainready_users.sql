-- Users to score, to count those the model could not score.
SELECT count(*) AS users FROM lookalike_trainready
