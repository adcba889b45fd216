-- The notes pflip trains on (A4.3): scorable notes on posts after
-- 2024-08-19 (the stabilization timestamp is reliable from then on).
SELECT * FROM candidates WHERE tweetId > $min_tweet_id
