-- The apps whose keyword is effective, with it: the $apps and $keywords the
-- cleaning rules test against.
SELECT k.spread_app_id, k.keyword
FROM ad_keywords k
JOIN effective_keywords e ON k.keyword = e.keyword
ORDER BY k.spread_app_id
