-- The checked users' lists as the IVF index found them.
SELECT s.did, s.top_n_similar_user
FROM lookalike_similarity s
JOIN recall_users r ON s.did = r.did
