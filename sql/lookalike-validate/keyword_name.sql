-- The keyword of $keyword_index, whose score plan 1 reads.
SELECT min(keyword) AS keyword FROM ad_keywords WHERE keyword_index = $keyword_index
