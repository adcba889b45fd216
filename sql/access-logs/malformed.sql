-- A few lines that do not have the format's shape, for the log.
SELECT line FROM access_log_lines WHERE parse_access_log(line, $log_format) IS NULL LIMIT 5
