-- Clean show log (main_clean's showlog output).
SELECT * EXCLUDE (is_click) FROM clean_logs WHERE is_click = 0
