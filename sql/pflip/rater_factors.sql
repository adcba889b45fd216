-- Each rater's factor (A4a): Core's, else Expansion's, else ExpansionPlus's;
-- raters with none (group scorers only) are absent, so their factor is NULL.
SELECT
  raterParticipantId,
  coalesce(
    max(CASE WHEN scorerName = 'MFCoreScorer' THEN internalRaterFactor1 END),
    max(CASE WHEN scorerName = 'MFExpansionScorer' THEN internalRaterFactor1 END),
    max(CASE WHEN scorerName = 'MFExpansionPlusScorer' THEN internalRaterFactor1 END)
  ) AS RATER_FACTOR
FROM prescoringRaterModelOutput
WHERE scorerName IN ('MFCoreScorer', 'MFExpansionScorer', 'MFExpansionPlusScorer')
  AND NOT isnan(internalRaterFactor1)
GROUP BY raterParticipantId
