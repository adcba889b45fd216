-- The training table, each note's MIN row before its MAX row (the original
-- sorts by noteId alone, with an unstable sort).
SELECT * FROM pflip_features ORDER BY noteId, SCORING_CUTOFF_MODE DESC
