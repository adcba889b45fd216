-- The posts whose ratings pflip-features reads: those of the notes it may train on.
SELECT DISTINCT tweetId FROM cutoff_notes
