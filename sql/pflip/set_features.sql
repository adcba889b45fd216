-- The features of each rating set of each scored row (A7.6), one row per
-- (note, cutoff, set): the user-helpfulness and user-tag token sets, the
-- counts by rater viewpoint (factor beyond +-0.3, inclusive in NEUTRAL) and
-- level, the helpful raters' factor statistics (f <= 0 counts as negative,
-- sample deviation), and each tag's share of the set's ratings. A set
-- without ratings has empty token sets and zero counts; its statistics and
-- shares are NULL (the original's NaN).
WITH per_set AS (
  SELECT
    scoredNoteId AS noteId,
    SCORING_CUTOFF_MODE,
    rating_set,
    count(*) AS ratings,
    array_sort(array_agg(DISTINCT raterParticipantId || ':' || coalesce(helpfulnessLevel, 'nan'))) AS USER_HELPFULNESS_RATINGS,
    array_sort(array_distinct(flatten(array_agg(tag_tokens(raterParticipantId, 'helpful', helpfulOther, helpfulInformative, helpfulClear, helpfulEmpathetic, helpfulGoodSources, helpfulUniqueContext, helpfulAddressesClaim, helpfulImportantContext, helpfulUnbiasedLanguage))))) AS USER_HELPFUL_TAGS,
    array_sort(array_distinct(flatten(array_agg(tag_tokens(raterParticipantId, 'notHelpful', notHelpfulOther, notHelpfulIncorrect, notHelpfulSourcesMissingOrUnreliable, notHelpfulOpinionSpeculationOrBias, notHelpfulMissingKeyPoints, notHelpfulOutdated, notHelpfulHardToUnderstand, notHelpfulArgumentativeOrBiased, notHelpfulOffTopic, notHelpfulSpamHarassmentOrAbuse, notHelpfulIrrelevantSources, notHelpfulOpinionSpeculation, notHelpfulNoteNotNeeded))))) AS USER_NOT_HELPFUL_TAGS,
    count(*) FILTER (WHERE RATER_FACTOR < -0.3 AND helpfulnessLevel = 'HELPFUL') AS NEGATIVE_HELPFUL,
    count(*) FILTER (WHERE RATER_FACTOR < -0.3 AND helpfulnessLevel = 'SOMEWHAT_HELPFUL') AS NEGATIVE_SOMEWHAT_HELPFUL,
    count(*) FILTER (WHERE RATER_FACTOR < -0.3 AND helpfulnessLevel = 'NOT_HELPFUL') AS NEGATIVE_NOT_HELPFUL,
    count(*) FILTER (WHERE RATER_FACTOR BETWEEN -0.3 AND 0.3 AND helpfulnessLevel = 'HELPFUL') AS NEUTRAL_HELPFUL,
    count(*) FILTER (WHERE RATER_FACTOR BETWEEN -0.3 AND 0.3 AND helpfulnessLevel = 'SOMEWHAT_HELPFUL') AS NEUTRAL_SOMEWHAT_HELPFUL,
    count(*) FILTER (WHERE RATER_FACTOR BETWEEN -0.3 AND 0.3 AND helpfulnessLevel = 'NOT_HELPFUL') AS NEUTRAL_NOT_HELPFUL,
    count(*) FILTER (WHERE RATER_FACTOR > 0.3 AND helpfulnessLevel = 'HELPFUL') AS POSITIVE_HELPFUL,
    count(*) FILTER (WHERE RATER_FACTOR > 0.3 AND helpfulnessLevel = 'SOMEWHAT_HELPFUL') AS POSITIVE_SOMEWHAT_HELPFUL,
    count(*) FILTER (WHERE RATER_FACTOR > 0.3 AND helpfulnessLevel = 'NOT_HELPFUL') AS POSITIVE_NOT_HELPFUL,
    max(RATER_FACTOR) FILTER (WHERE helpfulnessLevel = 'HELPFUL' AND RATER_FACTOR > 0) AS MAX_POS_HELPFUL,
    abs(min(RATER_FACTOR) FILTER (WHERE helpfulnessLevel = 'HELPFUL' AND RATER_FACTOR <= 0)) AS MAX_NEG_HELPFUL,
    avg(RATER_FACTOR) FILTER (WHERE helpfulnessLevel = 'HELPFUL' AND RATER_FACTOR > 0) AS MEAN_POS_HELPFUL,
    abs(avg(RATER_FACTOR) FILTER (WHERE helpfulnessLevel = 'HELPFUL' AND RATER_FACTOR <= 0)) AS MEAN_NEG_HELPFUL,
    stddev_samp(RATER_FACTOR) FILTER (WHERE helpfulnessLevel = 'HELPFUL') AS STD_HELPFUL,
    CAST(sum(helpfulOther) AS DOUBLE) / count(*) AS helpfulOther,
    CAST(sum(helpfulInformative) AS DOUBLE) / count(*) AS helpfulInformative,
    CAST(sum(helpfulClear) AS DOUBLE) / count(*) AS helpfulClear,
    CAST(sum(helpfulEmpathetic) AS DOUBLE) / count(*) AS helpfulEmpathetic,
    CAST(sum(helpfulGoodSources) AS DOUBLE) / count(*) AS helpfulGoodSources,
    CAST(sum(helpfulUniqueContext) AS DOUBLE) / count(*) AS helpfulUniqueContext,
    CAST(sum(helpfulAddressesClaim) AS DOUBLE) / count(*) AS helpfulAddressesClaim,
    CAST(sum(helpfulImportantContext) AS DOUBLE) / count(*) AS helpfulImportantContext,
    CAST(sum(helpfulUnbiasedLanguage) AS DOUBLE) / count(*) AS helpfulUnbiasedLanguage,
    CAST(sum(notHelpfulOther) AS DOUBLE) / count(*) AS notHelpfulOther,
    CAST(sum(notHelpfulIncorrect) AS DOUBLE) / count(*) AS notHelpfulIncorrect,
    CAST(sum(notHelpfulSourcesMissingOrUnreliable) AS DOUBLE) / count(*) AS notHelpfulSourcesMissingOrUnreliable,
    CAST(sum(notHelpfulOpinionSpeculationOrBias) AS DOUBLE) / count(*) AS notHelpfulOpinionSpeculationOrBias,
    CAST(sum(notHelpfulMissingKeyPoints) AS DOUBLE) / count(*) AS notHelpfulMissingKeyPoints,
    CAST(sum(notHelpfulOutdated) AS DOUBLE) / count(*) AS notHelpfulOutdated,
    CAST(sum(notHelpfulHardToUnderstand) AS DOUBLE) / count(*) AS notHelpfulHardToUnderstand,
    CAST(sum(notHelpfulArgumentativeOrBiased) AS DOUBLE) / count(*) AS notHelpfulArgumentativeOrBiased,
    CAST(sum(notHelpfulOffTopic) AS DOUBLE) / count(*) AS notHelpfulOffTopic,
    CAST(sum(notHelpfulSpamHarassmentOrAbuse) AS DOUBLE) / count(*) AS notHelpfulSpamHarassmentOrAbuse,
    CAST(sum(notHelpfulIrrelevantSources) AS DOUBLE) / count(*) AS notHelpfulIrrelevantSources,
    CAST(sum(notHelpfulOpinionSpeculation) AS DOUBLE) / count(*) AS notHelpfulOpinionSpeculation,
    CAST(sum(notHelpfulNoteNotNeeded) AS DOUBLE) / count(*) AS notHelpfulNoteNotNeeded
  FROM set_ratings
  GROUP BY scoredNoteId, SCORING_CUTOFF_MODE, rating_set
),
sets AS (
  SELECT column1 AS rating_set FROM (VALUES ('LOCAL'), ('PEER_MISLEADING'), ('PEER_NON_MISLEADING'))
)
SELECT
  s.noteId,
  s.SCORING_CUTOFF_MODE,
  sets.rating_set,
  coalesce(a.ratings, 0) AS ratings,
  coalesce(a.USER_HELPFULNESS_RATINGS, arrow_cast(make_array(), 'List(Utf8)')) AS USER_HELPFULNESS_RATINGS,
  coalesce(a.USER_HELPFUL_TAGS, arrow_cast(make_array(), 'List(Utf8)')) AS USER_HELPFUL_TAGS,
  coalesce(a.USER_NOT_HELPFUL_TAGS, arrow_cast(make_array(), 'List(Utf8)')) AS USER_NOT_HELPFUL_TAGS,
  coalesce(a.NEGATIVE_HELPFUL, 0) AS NEGATIVE_HELPFUL,
  coalesce(a.NEGATIVE_SOMEWHAT_HELPFUL, 0) AS NEGATIVE_SOMEWHAT_HELPFUL,
  coalesce(a.NEGATIVE_NOT_HELPFUL, 0) AS NEGATIVE_NOT_HELPFUL,
  coalesce(a.NEUTRAL_HELPFUL, 0) AS NEUTRAL_HELPFUL,
  coalesce(a.NEUTRAL_SOMEWHAT_HELPFUL, 0) AS NEUTRAL_SOMEWHAT_HELPFUL,
  coalesce(a.NEUTRAL_NOT_HELPFUL, 0) AS NEUTRAL_NOT_HELPFUL,
  coalesce(a.POSITIVE_HELPFUL, 0) AS POSITIVE_HELPFUL,
  coalesce(a.POSITIVE_SOMEWHAT_HELPFUL, 0) AS POSITIVE_SOMEWHAT_HELPFUL,
  coalesce(a.POSITIVE_NOT_HELPFUL, 0) AS POSITIVE_NOT_HELPFUL,
  a.MAX_POS_HELPFUL,
  a.MAX_NEG_HELPFUL,
  a.MEAN_POS_HELPFUL,
  a.MEAN_NEG_HELPFUL,
  a.STD_HELPFUL,
  a.MAX_POS_HELPFUL + a.MAX_NEG_HELPFUL AS MAX_DIFF,
  a.MEAN_POS_HELPFUL + a.MEAN_NEG_HELPFUL AS MEAN_DIFF,
  a.* EXCLUDE (noteId, SCORING_CUTOFF_MODE, rating_set, ratings, USER_HELPFULNESS_RATINGS, USER_HELPFUL_TAGS, USER_NOT_HELPFUL_TAGS,
    NEGATIVE_HELPFUL, NEGATIVE_SOMEWHAT_HELPFUL, NEGATIVE_NOT_HELPFUL, NEUTRAL_HELPFUL, NEUTRAL_SOMEWHAT_HELPFUL, NEUTRAL_NOT_HELPFUL, POSITIVE_HELPFUL, POSITIVE_SOMEWHAT_HELPFUL, POSITIVE_NOT_HELPFUL,
    MAX_POS_HELPFUL, MAX_NEG_HELPFUL, MEAN_POS_HELPFUL, MEAN_NEG_HELPFUL, STD_HELPFUL)
FROM scored s
CROSS JOIN sets
LEFT JOIN per_set a ON a.noteId = s.noteId AND a.SCORING_CUTOFF_MODE = s.SCORING_CUTOFF_MODE AND a.rating_set = sets.rating_set
