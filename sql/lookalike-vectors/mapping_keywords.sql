-- The vectors' dimensions, as the did-era score_vector_table: every keyword of
-- the mapping table, ascending.
SELECT DISTINCT keyword FROM ad_keywords ORDER BY keyword
