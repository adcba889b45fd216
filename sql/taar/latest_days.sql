-- latest_days: each Firefox release client's latest day from $from to $end
-- with 3 to 99 add-ons listed (system ones included), as `day`: the clients
-- taar-similarity may cluster and taar-ensemble trains on. Each job joins
-- it back to its own scan of clients_daily, which repeats the filter so
-- that Parquet pruning sees it.
--
-- An aggregate joined back rather than a window, which would sort every row
-- with its add-on list; over clients_daily_sizes, where the add-on lists
-- cost a sixth to decode. Joined as the left side: DataFusion builds its
-- hash table from the left input.
SELECT client_id, max(submission_date_s3) AS day
FROM clients_daily_sizes
WHERE client_id IS NOT NULL AND active_addons IS NOT NULL
  AND list_size(active_addons) BETWEEN 3 AND 99
  AND channel = 'release' AND app_name = 'Firefox'
  AND submission_date_s3 >= $from AND submission_date_s3 <= $end
GROUP BY client_id
