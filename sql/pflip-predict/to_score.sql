-- The notes pflip-predict scores, by --at (A9, A10):
--   NOW: every scorable note on a target post, with no cutoff;
--   MIN / MAX: every scorable note with that cutoff (A6), as of it;
--   OFFSET: every scorable note that went CRH, as of --offset-hours after it.
SELECT c.*, CAST(NULL AS BIGINT) AS SCORING_CUTOFF_MTS, 'NOW' AS SCORING_CUTOFF_MODE, p.batch
FROM candidates c
JOIN target_posts p ON p.tweetId = c.tweetId
WHERE $at = 'NOW'
UNION ALL
SELECT c.*, k.SCORING_CUTOFF_MTS, k.SCORING_CUTOFF_MODE, CAST(NULL AS BIGINT)
FROM candidates c
JOIN cutoffs k ON k.noteId = c.noteId
UNION ALL
SELECT c.*, h.timestampMillisOfFirstNonNMRStatus + $offset_ms, 'OFFSET', CAST(NULL AS BIGINT)
FROM candidates c
JOIN noteStatusHistory h ON h.noteId = c.noteId
WHERE $at = 'OFFSET'
  AND h.firstNonNMRStatus = 'CURRENTLY_RATED_HELPFUL'
  AND h.timestampMillisOfFirstNonNMRStatus IS NOT NULL
