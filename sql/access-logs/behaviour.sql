-- One row per parsed access-log line: who asked for what, when, and which of
-- the application's routes it was ("track behaviour, not logs"). Lines that
-- do not parse are left out here and counted by the job.
WITH parsed AS (
  SELECT parse_access_log(line, $log_format) AS p
  FROM access_log_lines
),
routed AS (
  SELECT p, route_request(p['target'], $routes) AS r
  FROM parsed
  WHERE p IS NOT NULL
)
SELECT
  p['ts'] AS ts,
  to_char(p['ts'], '%Y-%m-%d') AS day,
  p['client_ip'] AS client_ip,
  p['user'] AS user,
  p['method'] AS method,
  r['path'] AS path,
  r['query'] AS query,
  r['action'] AS action,
  r['params'] AS params,
  p['status'] AS status,
  p['bytes'] AS bytes,
  p['referrer'] AS referrer,
  p['user_agent'] AS user_agent,
  p['response_time_us'] AS response_time_us,
  p['vhost'] AS vhost,
  p['request'] AS request
FROM routed
