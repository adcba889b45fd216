-- The vectors k-means is trained on: $sample_size users chosen by $seed.
SELECT score_vector FROM (
    SELECT score_vector, row_number() OVER (ORDER BY seeded_hash($seed, did), did) AS pick
    FROM lookalike_score_vector
) AS ranked
WHERE pick <= $sample_size
