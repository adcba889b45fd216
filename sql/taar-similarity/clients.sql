-- clients: the clients TAAR similarity clusters, one row each: those with 3
-- or more valid add-ons (valid_addons.sql), with their features.
--
-- `addons` keeps each valid guid with its position among them (the donors
-- list them in that order); `terms` is the guids hashed as Spark 2.3's
-- HashingTF does, the clustering's input. One row per client, grouped by its
-- features too (the same on all its add-on rows) rather than joined back.
SELECT client_id, city, subsession_hours_sum, locale, os, bookmark_count, tab_open_count, total_uri, unique_tlds,
       array_agg(named_struct('pos', pos, 'guid', guid)) AS addons,
       array_agg(spark_hashing_tf_index(guid, $num_features)) AS terms
FROM (SELECT * EXCLUDE (guids), unnest(guids) AS guid, unnest(range(list_size(guids))) AS pos FROM valid_addons)
GROUP BY client_id, city, subsession_hours_sum, locale, os, bookmark_count, tab_open_count, total_uri, unique_tlds
HAVING count(*) > 2
