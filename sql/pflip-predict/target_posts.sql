-- The posts scored by default (A10): those with a note in stabilization
-- (timestampMillisOfNmrDueToMinStableCrhTime > 0), numbered into batches of
-- $batch_tweets in the order the notes file first names them, as the
-- original's drop_duplicates over notes.tweetId.
WITH posts AS (
  SELECT n.tweetId, min(n._position) AS first_line
  FROM notes n
  WHERE n.tweetId <> -1
    AND n.tweetId IN (
      SELECT t.tweetId
      FROM notes t
      JOIN noteStatusHistory h ON h.noteId = t.noteId
      WHERE h.timestampMillisOfNmrDueToMinStableCrhTime > 0
    )
  GROUP BY n.tweetId
)
SELECT tweetId, (CAST(row_number() OVER (ORDER BY first_line) AS BIGINT) - 1) / $batch_tweets AS batch
FROM posts
