-- The scored rows' features, for the driver to score.
SELECT * FROM pflip_features
