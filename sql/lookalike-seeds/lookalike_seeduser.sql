-- Seed users (seed_user_selector.py): the distinct dids that clicked keyword
-- $keyword_index and every keyword of $also_keywords (the v1.8 variant's
-- self-join), of a gender in $genders unless it is empty; $limit of them
-- chosen by $seed (the original's limit took whichever Spark met first).
SELECT did FROM (
    SELECT did
    FROM lookalike_logs
    WHERE is_click = 1
      AND (keyword_index = $keyword_index OR array_has($also_keywords, CAST(keyword_index AS BIGINT)))
      AND ($any_gender OR array_has($genders, CAST(gender AS BIGINT)))
    GROUP BY did
    HAVING count(DISTINCT keyword_index) = $keywords_clicked
) AS clicked
ORDER BY seeded_hash($seed, did), did
LIMIT $limit
