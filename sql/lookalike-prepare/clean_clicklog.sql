-- Clean click log (main_clean's clicklog output).
SELECT * EXCLUDE (is_click) FROM clean_logs WHERE is_click = 1
