-- The score table: the train-ready columns plus kws, without the users the
-- model could not score.
SELECT age, gender, did, did_index, interval_starting_time, interval_keywords, kwi,
       kwi_show_counts, kwi_click_counts, kws, did_bucket
FROM scored_users
WHERE kws IS NOT NULL
