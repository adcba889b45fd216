-- The notes pflip can score (spec pflip_logs.md A4.2): in the status history
-- and the notes file, on a post, classified; the post's time from its
-- snowflake id.
SELECT
  h.noteId,
  h.createdAtMillis AS noteCreationMillis,
  n.tweetId,
  n.classification,
  (n.tweetId >> 22) + 1288834974657 AS tweetCreationMillis
FROM noteStatusHistory h
JOIN notes n ON n.noteId = h.noteId
WHERE n.tweetId > 0 AND n.classification IS NOT NULL
