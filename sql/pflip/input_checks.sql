-- What the original asserts of its inputs, as (problem, example, count):
-- unique note ids, every note in the status history with its creation time,
-- one factor per rater and scorer (one rating per note and rater is
-- checked where the original asserts it, on the posts in scope: post_checks).
SELECT 'notes repeat a noteId' AS problem, min(noteId) AS example, count(*) AS count
FROM (SELECT noteId FROM notes GROUP BY noteId HAVING count(*) > 1)
UNION ALL
SELECT 'noteStatusHistory repeats a noteId', min(noteId), count(*)
FROM (SELECT noteId FROM noteStatusHistory GROUP BY noteId HAVING count(*) > 1)
UNION ALL
SELECT 'notes are missing from noteStatusHistory (or have another createdAtMillis there)', min(n.noteId), count(*)
FROM notes n
LEFT JOIN noteStatusHistory h ON h.noteId = n.noteId AND h.createdAtMillis = n.createdAtMillis
WHERE h.noteId IS NULL
UNION ALL
SELECT 'prescoringRaterModelOutput repeats a (raterParticipantId, scorerName) of the three scorers read', NULL, count(*)
FROM (
  SELECT raterParticipantId FROM prescoringRaterModelOutput
  WHERE scorerName IN ('MFCoreScorer', 'MFExpansionScorer', 'MFExpansionPlusScorer')
  GROUP BY raterParticipantId, scorerName HAVING count(*) > 1
)
