-- mean-top10 (distance_table_list.py): each user's mean similarity to its
-- most similar seeds.
SELECT did, mean_top_similarity(vector, $seeds) AS score
FROM user_vectors
