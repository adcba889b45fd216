-- regression_rows: the logistic regression's rows, every client the three
-- recommenders scored, in one order whatever the partitioning (the
-- regression's sums then are too).
SELECT label, cllr_collaborative, cllr_similarity, cllr_locale
FROM stacked
WHERE cllr_similarity IS NOT NULL
ORDER BY client_id, cllr_collaborative, cllr_similarity, cllr_locale, label
