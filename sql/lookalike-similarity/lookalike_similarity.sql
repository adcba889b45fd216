-- Every user's top-N most similar users, best first (similar_users: the
-- blocks, computed on the executors).
SELECT did, top_n_similar_user, did_bucket FROM similar_users
