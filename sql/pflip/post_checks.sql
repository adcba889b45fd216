-- What the original asserts of the scored posts: one rating per note and
-- rater on them, and every note on them classified (the peers it counts).
SELECT 'ratings on the posts in scope repeat a (noteId, raterParticipantId)' AS problem, min(noteId) AS example, count(*) AS count
FROM (SELECT noteId FROM post_ratings GROUP BY noteId, raterParticipantId HAVING count(*) > 1)
UNION ALL
SELECT 'a note on a scored post has no classification', min(noteId), count(*)
FROM notes
WHERE classification IS NULL AND tweetId IN (SELECT tweetId FROM scored)
