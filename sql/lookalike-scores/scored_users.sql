-- Every train-ready user with the model's score of each keyword
-- (score_generator): din_scores posts one request per user, on the executors.
-- A user the model could not score (--on-model-error skip) has no scores.
SELECT *, din_scores($model_call, did, did_index, kwi_show_counts) AS kws
FROM lookalike_trainready
