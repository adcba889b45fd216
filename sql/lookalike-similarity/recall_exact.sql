-- The checked users' exact lists (exact_similar_users: one block, every candidate).
SELECT did, top_n_similar_user FROM exact_similar_users
