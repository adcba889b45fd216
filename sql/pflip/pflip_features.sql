-- One row per scored note and cutoff, a column per feature, in the
-- original's column order (A4.6; 165 columns, LABEL NULL when predicting).
SELECT
  s.noteId,
  s.noteCreationMillis,
  s.tweetId,
  s.classification,
  s.tweetCreationMillis,
  s.SCORING_CUTOFF_MTS,
  s.SCORING_CUTOFF_MODE,
  s.LABEL,
  s.noteCreationMillis - s.tweetCreationMillis AS NOTE_WRITING_LATENCY,
  h.noteAuthorParticipantId,
  t.* EXCLUDE (noteId, SCORING_CUTOFF_MODE),
  p.* EXCLUDE (noteId, SCORING_CUTOFF_MODE),
  w.* EXCLUDE (noteId, SCORING_CUTOFF_MODE)
FROM scored s
JOIN noteStatusHistory h ON h.noteId = s.noteId
JOIN timing t ON t.noteId = s.noteId AND t.SCORING_CUTOFF_MODE = s.SCORING_CUTOFF_MODE
JOIN peer_counts p ON p.noteId = s.noteId AND p.SCORING_CUTOFF_MODE = s.SCORING_CUTOFF_MODE
JOIN set_features_wide w ON w.noteId = s.noteId AND w.SCORING_CUTOFF_MODE = s.SCORING_CUTOFF_MODE
