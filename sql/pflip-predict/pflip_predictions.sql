-- Each scored note's decision score, its probability (the sigmoid, HEAD's
-- PFLIP_PROBA) and label: FLIP when the score is strictly above the model's
-- threshold.
SELECT
  noteId,
  PFLIP_SCORE,
  1.0 / (1.0 + exp(-PFLIP_SCORE)) AS PFLIP_PROBA,
  CASE WHEN PFLIP_SCORE > $threshold THEN 'FLIP' ELSE 'CRH' END AS PFLIP_LABEL
FROM scores
ORDER BY noteId
