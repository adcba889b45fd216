-- With --write-features: the features each prediction was made from.
SELECT * FROM pflip_features ORDER BY noteId
