-- Every line read, to count the ones that did not parse.
SELECT count(*) AS lines FROM access_log_lines
