-- The balanced clusters: a k-means cluster's users, in an order chosen by
-- $seed, go to $first_id[c] + ⌊i · $pieces[c] / $sizes[c]⌋ (lists indexed by
-- cluster + 1), so a cluster is kept, cut into pieces or merged with others.
SELECT did, score_vector, c1, did_bucket,
       CAST($first_id[kmeans_cluster + 1]
            + (CAST(row_number() OVER (PARTITION BY kmeans_cluster ORDER BY seeded_hash($seed, did), did) AS BIGINT) - 1)
              * $pieces[kmeans_cluster + 1] / $sizes[kmeans_cluster + 1] AS INT) AS cluster_id
FROM clustered_users
