-- The timing features of each scored row's own ratings (A7.2-A7.4): how many
-- came in the first c minutes after the note (strict <), the most in any c
-- minutes starting on a whole epoch minute (BURST; the original's windows
-- at every offset), and how many in the c minutes before the row's present
-- (strict >; the cutoff in training, the batch's last rating in
-- prediction); each also as a share of the row's ratings.
WITH local_ratings AS (
  SELECT scoredNoteId AS noteId, SCORING_CUTOFF_MODE, createdAtMillis
  FROM set_ratings
  WHERE rating_set = 'LOCAL'
),
counts AS (
  SELECT
    l.noteId,
    l.SCORING_CUTOFF_MODE,
    count(*) AS total,
    count(*) FILTER (WHERE l.createdAtMillis < s.noteCreationMillis + 1 * 60000) AS FIRST_1_TOTAL,
    count(*) FILTER (WHERE l.createdAtMillis < s.noteCreationMillis + 5 * 60000) AS FIRST_5_TOTAL,
    count(*) FILTER (WHERE l.createdAtMillis < s.noteCreationMillis + 15 * 60000) AS FIRST_15_TOTAL,
    count(*) FILTER (WHERE l.createdAtMillis < s.noteCreationMillis + 60 * 60000) AS FIRST_60_TOTAL,
    count(*) FILTER (WHERE l.createdAtMillis > s.present - 1 * 60000) AS RECENT_1_TOTAL,
    count(*) FILTER (WHERE l.createdAtMillis > s.present - 5 * 60000) AS RECENT_5_TOTAL,
    count(*) FILTER (WHERE l.createdAtMillis > s.present - 15 * 60000) AS RECENT_15_TOTAL,
    count(*) FILTER (WHERE l.createdAtMillis > s.present - 60 * 60000) AS RECENT_60_TOTAL
  FROM local_ratings l
  JOIN scored s ON s.noteId = l.noteId AND s.SCORING_CUTOFF_MODE = l.SCORING_CUTOFF_MODE
  GROUP BY l.noteId, l.SCORING_CUTOFF_MODE
),
minutes AS (
  SELECT noteId, SCORING_CUTOFF_MODE, createdAtMillis / 60000 AS minute, count(*) AS ratings
  FROM local_ratings
  GROUP BY noteId, SCORING_CUTOFF_MODE, createdAtMillis / 60000
),
windows AS (
  SELECT
    noteId,
    SCORING_CUTOFF_MODE,
    ratings,
    sum(ratings) OVER (PARTITION BY noteId, SCORING_CUTOFF_MODE ORDER BY minute RANGE BETWEEN CURRENT ROW AND 4 FOLLOWING) AS in_5,
    sum(ratings) OVER (PARTITION BY noteId, SCORING_CUTOFF_MODE ORDER BY minute RANGE BETWEEN CURRENT ROW AND 14 FOLLOWING) AS in_15,
    sum(ratings) OVER (PARTITION BY noteId, SCORING_CUTOFF_MODE ORDER BY minute RANGE BETWEEN CURRENT ROW AND 59 FOLLOWING) AS in_60
  FROM minutes
),
bursts AS (
  SELECT
    noteId,
    SCORING_CUTOFF_MODE,
    max(ratings) AS BURST_1_TOTAL,
    max(in_5) AS BURST_5_TOTAL,
    max(in_15) AS BURST_15_TOTAL,
    max(in_60) AS BURST_60_TOTAL
  FROM windows
  GROUP BY noteId, SCORING_CUTOFF_MODE
)
SELECT
  s.noteId,
  s.SCORING_CUTOFF_MODE,
  coalesce(c.FIRST_1_TOTAL, 0) AS FIRST_1_TOTAL,
  coalesce(c.FIRST_5_TOTAL, 0) AS FIRST_5_TOTAL,
  coalesce(c.FIRST_15_TOTAL, 0) AS FIRST_15_TOTAL,
  coalesce(c.FIRST_60_TOTAL, 0) AS FIRST_60_TOTAL,
  CAST(coalesce(c.FIRST_1_TOTAL, 0) AS DOUBLE) / greatest(coalesce(c.total, 0), 1) AS FIRST_1_RATIO,
  CAST(coalesce(c.FIRST_5_TOTAL, 0) AS DOUBLE) / greatest(coalesce(c.total, 0), 1) AS FIRST_5_RATIO,
  CAST(coalesce(c.FIRST_15_TOTAL, 0) AS DOUBLE) / greatest(coalesce(c.total, 0), 1) AS FIRST_15_RATIO,
  CAST(coalesce(c.FIRST_60_TOTAL, 0) AS DOUBLE) / greatest(coalesce(c.total, 0), 1) AS FIRST_60_RATIO,
  coalesce(b.BURST_1_TOTAL, 0) AS BURST_1_TOTAL,
  coalesce(b.BURST_5_TOTAL, 0) AS BURST_5_TOTAL,
  coalesce(b.BURST_15_TOTAL, 0) AS BURST_15_TOTAL,
  coalesce(b.BURST_60_TOTAL, 0) AS BURST_60_TOTAL,
  CAST(coalesce(b.BURST_1_TOTAL, 0) AS DOUBLE) / greatest(coalesce(c.total, 0), 1) AS BURST_1_RATIO,
  CAST(coalesce(b.BURST_5_TOTAL, 0) AS DOUBLE) / greatest(coalesce(c.total, 0), 1) AS BURST_5_RATIO,
  CAST(coalesce(b.BURST_15_TOTAL, 0) AS DOUBLE) / greatest(coalesce(c.total, 0), 1) AS BURST_15_RATIO,
  CAST(coalesce(b.BURST_60_TOTAL, 0) AS DOUBLE) / greatest(coalesce(c.total, 0), 1) AS BURST_60_RATIO,
  coalesce(c.RECENT_1_TOTAL, 0) AS RECENT_1_TOTAL,
  coalesce(c.RECENT_5_TOTAL, 0) AS RECENT_5_TOTAL,
  coalesce(c.RECENT_15_TOTAL, 0) AS RECENT_15_TOTAL,
  coalesce(c.RECENT_60_TOTAL, 0) AS RECENT_60_TOTAL,
  CAST(coalesce(c.RECENT_1_TOTAL, 0) AS DOUBLE) / greatest(coalesce(c.total, 0), 1) AS RECENT_1_RATIO,
  CAST(coalesce(c.RECENT_5_TOTAL, 0) AS DOUBLE) / greatest(coalesce(c.total, 0), 1) AS RECENT_5_RATIO,
  CAST(coalesce(c.RECENT_15_TOTAL, 0) AS DOUBLE) / greatest(coalesce(c.total, 0), 1) AS RECENT_15_RATIO,
  CAST(coalesce(c.RECENT_60_TOTAL, 0) AS DOUBLE) / greatest(coalesce(c.total, 0), 1) AS RECENT_60_RATIO
FROM scored s
LEFT JOIN counts c ON c.noteId = s.noteId AND c.SCORING_CUTOFF_MODE = s.SCORING_CUTOFF_MODE
LEFT JOIN bursts b ON b.noteId = s.noteId AND b.SCORING_CUTOFF_MODE = s.SCORING_CUTOFF_MODE
