-- The rating sets of every scored row (A4.5): its note's own ratings
-- (LOCAL), and a copy of every rating on another note of its post, in
-- PEER_MISLEADING or PEER_NON_MISLEADING by that note's classification; a
-- row with a cutoff (training) keeps the ratings made at or before it.
SELECT
  s.noteId AS scoredNoteId,
  s.SCORING_CUTOFF_MODE,
  CASE
    WHEN r.noteId = s.noteId THEN 'LOCAL'
    WHEN r.classification = 'MISINFORMED_OR_POTENTIALLY_MISLEADING' THEN 'PEER_MISLEADING'
    ELSE 'PEER_NON_MISLEADING'
  END AS rating_set,
  r.* EXCLUDE (tweetId, classification)
FROM scored s
JOIN post_ratings r ON r.tweetId = s.tweetId
WHERE (r.noteId = s.noteId OR r.classification IS NOT NULL)
  AND (s.SCORING_CUTOFF_MTS IS NULL OR r.createdAtMillis <= s.SCORING_CUTOFF_MTS)
