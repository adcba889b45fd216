-- The posts whose ratings pflip-predict reads: the target posts (A10), or
-- with a cutoff (--at-cutoff, --offset-hours) every scorable note's.
SELECT tweetId FROM target_posts WHERE $at = 'NOW'
UNION
SELECT tweetId FROM candidates WHERE $at <> 'NOW'
