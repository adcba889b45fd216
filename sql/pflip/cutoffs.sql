-- Each note's scoring cutoffs (A6), MIN and MAX: the earlier or later of its
-- entry into stabilization and its first CRH (NULLs skipped), less the
-- rating latency, but never before its min(5, n)-th rating. Notes that
-- neither entered stabilization nor went CRH, or have no rating, get none.
WITH events AS (
  SELECT
    h.noteId,
    h.timestampMillisOfFirstNmrDueToMinStableCrhTime AS stable,
    h.timestampMillisOfFirstNonNMRStatus AS first_non_nmr
  FROM noteStatusHistory h
  JOIN cutoff_notes c ON c.noteId = h.noteId
  WHERE h.timestampMillisOfFirstNmrDueToMinStableCrhTime IS NOT NULL
     OR h.firstNonNMRStatus = 'CURRENTLY_RATED_HELPFUL'
),
ranked AS (
  SELECT r.noteId, r.createdAtMillis, row_number() OVER (PARTITION BY r.noteId ORDER BY r.createdAtMillis) AS rank
  FROM post_ratings r
  JOIN events e ON e.noteId = r.noteId
),
by_ratings AS (
  SELECT noteId, max(createdAtMillis) FILTER (WHERE rank <= $min_ratings) AS rating_min
  FROM ranked
  GROUP BY noteId
),
modes AS (
  SELECT column1 AS mode FROM (VALUES ('MIN'), ('MAX'))
)
SELECT
  e.noteId,
  m.mode AS SCORING_CUTOFF_MODE,
  greatest(
    CASE WHEN m.mode = 'MIN' THEN least(e.stable, e.first_non_nmr) ELSE greatest(e.stable, e.first_non_nmr) END - $recency_ms,
    b.rating_min
  ) AS SCORING_CUTOFF_MTS
FROM events e
CROSS JOIN modes m
JOIN by_ratings b ON b.noteId = e.noteId
WHERE array_has($modes, m.mode)
