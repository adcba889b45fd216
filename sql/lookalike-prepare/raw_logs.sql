-- Both raw logs under main_clean's column names, told apart by is_click.
SELECT 0 AS is_click, did, adv_id, adv_type AS media, slot_id, spread_app_id,
       device_name, net_type, adv_bill_mode_cd AS price_model, show_time AS action_time
FROM ads_showlog
UNION ALL
SELECT 1 AS is_click, did, adv_id, adv_type AS media, slot_id, spread_app_id,
       device_name, net_type, adv_bill_mode_cd AS price_model, click_time AS action_time
FROM ads_clicklog
