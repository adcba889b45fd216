-- Stands in for the click log (no rows, its columns) when the clean stage
-- does not run: the keywords stage counts only shows, and runs without one.
SELECT did, adv_id, adv_type, slot_id, spread_app_id, device_name, net_type,
       adv_bill_mode_cd, show_time AS click_time
FROM ads_showlog
WHERE false
