-- Every keyword of the mapping and whether it is effective, for the job's log.
SELECT k.keyword, e.keyword IS NOT NULL AS effective
FROM (SELECT DISTINCT keyword FROM ad_keywords) AS k
LEFT JOIN effective_keywords AS e ON k.keyword = e.keyword
ORDER BY k.keyword
