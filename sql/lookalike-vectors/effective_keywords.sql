-- The vectors' dimensions, as HEAD's score_vector_table: the effective
-- keywords, ascending.
SELECT DISTINCT keyword FROM lookalike_keywords ORDER BY keyword
