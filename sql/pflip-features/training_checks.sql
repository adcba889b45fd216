-- What the original asserts of the training notes' status history: no
-- negative stabilization entry, and a first CRH that has its time.
SELECT 'a training note has a negative timestampMillisOfFirstNmrDueToMinStableCrhTime' AS problem, min(h.noteId) AS example, count(*) AS count
FROM noteStatusHistory h
JOIN cutoff_notes c ON c.noteId = h.noteId
WHERE h.timestampMillisOfFirstNmrDueToMinStableCrhTime < 0
UNION ALL
SELECT 'a training note went CRH without a timestampMillisOfFirstNonNMRStatus', min(h.noteId), count(*)
FROM noteStatusHistory h
JOIN cutoff_notes c ON c.noteId = h.noteId
WHERE h.firstNonNMRStatus = 'CURRENTLY_RATED_HELPFUL' AND h.timestampMillisOfFirstNonNMRStatus IS NULL
  AND h.timestampMillisOfFirstNmrDueToMinStableCrhTime IS NULL
