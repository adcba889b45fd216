-- Every note on a scored post must be classified (the original asserts it
-- of the peers it counts).
SELECT 'a note on a scored post has no classification' AS problem, min(noteId) AS example, count(*) AS count
FROM notes
WHERE classification IS NULL AND tweetId IN (SELECT tweetId FROM scored)
