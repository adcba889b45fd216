-- Clean shows and clicks (main_clean.clean_batched_log), told apart by
-- is_click: rows in the dates with a well-formed time, a kept slot id, a did
-- with one persona and an app whose keyword is effective. The bucket is the
-- persona's (the same hash).
SELECT
    l.is_click,
    l.spread_app_id, l.did, l.adv_id, l.media, l.slot_id, l.device_name, l.net_type,
    l.price_model, l.action_time, p.gender, p.age, k.keyword, k.keyword_index,
    substr(l.action_time, 1, 10) AS day,
    p.did_bucket
FROM raw_logs l
JOIN clean_persona p ON l.did = p.did
JOIN ad_keywords k ON l.spread_app_id = k.spread_app_id
WHERE l.action_time >= $start_time AND l.action_time < $end_time
  AND naive_utc_seconds(l.action_time) IS NOT NULL
  AND array_has($slot_ids, l.slot_id)
  AND array_has($keywords, k.keyword)
