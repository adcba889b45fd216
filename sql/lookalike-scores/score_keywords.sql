-- The keywords every user is scored on (score_generator's get_keywords): the
-- mapping's keywords that are effective, one keyword per keyword_index (the
-- first by name where several share an index), by index. With $did_era, only
-- $did_era_keywords, the seven the did-era original hard-coded.
SELECT keyword_index, min(keyword) AS keyword
FROM (
    SELECT CAST(m.keyword_index AS BIGINT) AS keyword_index, m.keyword
    FROM ad_keywords m
    JOIN lookalike_keywords e ON m.keyword = e.keyword
    WHERE NOT $did_era
       OR array_has($did_era_keywords, m.keyword)
) AS scored
GROUP BY keyword_index
ORDER BY keyword_index
