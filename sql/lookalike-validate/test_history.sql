-- Each test user's clicks of $keyword_index in the newest interval (the
-- first; plan 0), and its shows and clicks of it over every interval (plan 1).
-- An interval's counts are "k:c,k:c"; $keyword_count matches the keyword's.
WITH intervals AS (
    SELECT did,
           kwi_click_counts[1] AS newest,
           unnest(kwi_show_counts) AS shows,
           unnest(kwi_click_counts) AS clicks
    FROM test_trainready
)
SELECT did,
       max(COALESCE(CAST(regexp_match(',' || newest || ',', $keyword_count)[1] AS BIGINT), 0)) AS newest_clicks,
       sum(COALESCE(CAST(regexp_match(',' || shows || ',', $keyword_count)[1] AS BIGINT), 0)) AS shows,
       sum(COALESCE(CAST(regexp_match(',' || clicks || ',', $keyword_count)[1] AS BIGINT), 0)) AS clicks
FROM intervals
GROUP BY did
