-- The train-ready table's buckets, in order: one TFRecord folder each.
SELECT DISTINCT did_bucket FROM trainready ORDER BY did_bucket
