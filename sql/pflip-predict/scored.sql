-- The scored rows with their present (A7.4): the cutoff where there is one;
-- otherwise the latest rating on any note its batch scores, one value per
-- batch as in the original (a batch without ratings has none: no rating is
-- recent).
WITH presents AS (
  SELECT s.batch, max(r.createdAtMillis) AS present
  FROM to_score s
  JOIN post_ratings r ON r.noteId = s.noteId
  WHERE s.batch IS NOT NULL
  GROUP BY s.batch
)
SELECT
  s.noteId,
  s.tweetId,
  s.classification,
  s.noteCreationMillis,
  s.tweetCreationMillis,
  s.SCORING_CUTOFF_MTS,
  s.SCORING_CUTOFF_MODE,
  CAST(NULL AS VARCHAR) AS LABEL,
  coalesce(s.SCORING_CUTOFF_MTS, p.present) AS present
FROM to_score s
LEFT JOIN presents p ON p.batch = s.batch
