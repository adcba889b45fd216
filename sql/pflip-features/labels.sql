-- Labels (A5): FLIP for a note locked NMR or CRNH that was CRH before, or
-- that entered stabilization and never went CRH; CRH for a note locked
-- CRH, unless ScoringDriftGuard decided it (the model wanted it NMR).
-- Unlocked notes get none.
SELECT noteId, LABEL
FROM (
  SELECT
    h.noteId,
    h.currentDecidedBy,
    CASE
      WHEN h.lockedStatus IN ('NEEDS_MORE_RATINGS', 'CURRENTLY_RATED_NOT_HELPFUL')
        AND (h.firstNonNMRStatus = 'CURRENTLY_RATED_HELPFUL'
          OR (h.timestampMillisOfFirstNmrDueToMinStableCrhTime IS NOT NULL AND h.firstNonNMRStatus IS NULL)) THEN 'FLIP'
      WHEN h.lockedStatus = 'CURRENTLY_RATED_HELPFUL' THEN 'CRH'
    END AS LABEL
  FROM noteStatusHistory h
  JOIN cutoff_notes c ON c.noteId = h.noteId
)
WHERE LABEL = 'FLIP' OR (LABEL = 'CRH' AND NOT starts_with(coalesce(currentDecidedBy, ''), 'ScoringDriftGuard'))
