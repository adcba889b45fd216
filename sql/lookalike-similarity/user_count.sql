-- How many users get similar users: blocks of $block_users make the tasks.
SELECT count(*) AS users FROM lookalike_score_vector WHERE CAST(did_bucket AS BIGINT) < $did_bucket_size
