-- The training rows: each labelled note once per cutoff (MIN and MAX), its
-- present the cutoff. A labelled note without a cutoff (no rating) is left
-- out and counted (training_rows).
SELECT
  c.noteId,
  c.tweetId,
  c.classification,
  c.noteCreationMillis,
  c.tweetCreationMillis,
  k.SCORING_CUTOFF_MTS,
  k.SCORING_CUTOFF_MODE,
  l.LABEL,
  k.SCORING_CUTOFF_MTS AS present
FROM cutoff_notes c
JOIN cutoffs k ON k.noteId = c.noteId
JOIN labels l ON l.noteId = c.noteId
