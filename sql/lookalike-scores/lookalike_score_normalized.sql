-- The score table with kws_norm, kws over its L2 norm (--normalize).
SELECT age, gender, did, did_index, interval_starting_time, interval_keywords, kwi,
       kwi_show_counts, kwi_click_counts, kws, normalize_scores(kws) AS kws_norm, did_bucket
FROM scored_users
WHERE kws IS NOT NULL
