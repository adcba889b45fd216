-- Every rating on a note of a post in scope (scope_posts), with that note's
-- post and classification and the rater's factor (A4.4, A4a). The ratings
-- TSVs are read here once; the cutoffs and rating sets read this table.
-- The small side of each join comes first: a hash join keeps its left side
-- in memory, and the TSV tables have no statistics to reorder joins by.
-- Sorted, so that each note's ratings are stored together and in one order
-- whatever the scope: the set statistics (means, deviations) then add them
-- up in the same order in pflip-features and pflip-predict.
WITH scope_ratings AS (
  SELECT
    r.* EXCLUDE (version, agree, disagree, helpful, notHelpful, ratedOnTweetId),
    n.tweetId,
    n.classification
  FROM (SELECT noteId, tweetId, classification FROM notes WHERE tweetId IN (SELECT tweetId FROM scope_posts)) n
  JOIN ratings r ON r.noteId = n.noteId
)
SELECT r.*, f.RATER_FACTOR
FROM rater_factors f
RIGHT JOIN scope_ratings r ON r.raterParticipantId = f.raterParticipantId
ORDER BY r.noteId, r.raterParticipantId
