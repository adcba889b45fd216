-- The other notes on each scored row's post (A7.5): all, misleading, not
-- misleading, and misleading ones that entered stabilization or went CRH.
-- With a cutoff (training) only what was known then counts: peers created
-- at or before it, events at or before it.
SELECT
  s.noteId,
  s.SCORING_CUTOFF_MODE,
  count(p.noteId) AS TOTAL_PEER_NOTES,
  count(p.noteId) FILTER (WHERE p.classification = 'MISINFORMED_OR_POTENTIALLY_MISLEADING') AS TOTAL_PEER_MISLEADING_NOTES,
  count(p.noteId) FILTER (WHERE p.classification = 'NOT_MISLEADING') AS TOTAL_PEER_NON_MISLEADING_NOTES,
  count(p.noteId) FILTER (
    WHERE p.classification = 'MISINFORMED_OR_POTENTIALLY_MISLEADING'
      AND p.stable IS NOT NULL
      AND (s.SCORING_CUTOFF_MTS IS NULL OR p.stable <= s.SCORING_CUTOFF_MTS)
  ) AS TOTAL_PEER_STABILIZATION_NOTES,
  count(p.noteId) FILTER (
    WHERE p.classification = 'MISINFORMED_OR_POTENTIALLY_MISLEADING'
      AND p.firstNonNMRStatus = 'CURRENTLY_RATED_HELPFUL'
      AND (s.SCORING_CUTOFF_MTS IS NULL OR p.firstNonNMR IS NULL OR p.firstNonNMR <= s.SCORING_CUTOFF_MTS)
  ) AS TOTAL_PEER_CRH_NOTES
FROM scored s
LEFT JOIN (
  SELECT
    n.noteId,
    n.tweetId,
    n.classification,
    h.createdAtMillis,
    h.timestampMillisOfFirstNmrDueToMinStableCrhTime AS stable,
    h.timestampMillisOfFirstNonNMRStatus AS firstNonNMR,
    h.firstNonNMRStatus
  FROM notes n
  JOIN noteStatusHistory h ON h.noteId = n.noteId
) p ON p.tweetId = s.tweetId
  AND p.noteId <> s.noteId
  AND (s.SCORING_CUTOFF_MTS IS NULL OR p.createdAtMillis <= s.SCORING_CUTOFF_MTS)
GROUP BY s.noteId, s.SCORING_CUTOFF_MODE
