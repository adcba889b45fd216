-- Quickstart sample input: 2,000 clients over 7 days, each day a client is
-- active with its locale, usage hours and installed add-ons (a list of structs).
-- Deterministic: every value is arithmetic on the client and day numbers.
SELECT
  'client-' || lpad(CAST(u AS VARCHAR), 5, '0') AS client_id,
  CAST(20261115 + d AS VARCHAR) AS day,
  CASE u % 4 WHEN 0 THEN 'en-US' WHEN 1 THEN 'de' WHEN 2 THEN 'fr' ELSE 'en-GB' END AS locale,
  CAST((u * 37 + d * 11) % 180 AS DOUBLE) / 10.0 AS hours,
  array_slice(
    make_array(
      named_struct('addon_id', 'addon-' || CAST((u * 7) % 25 AS VARCHAR), 'enabled', u % 5 <> 0),
      named_struct('addon_id', 'addon-' || CAST((u * 11 + 3) % 25 AS VARCHAR), 'enabled', true),
      named_struct('addon_id', 'addon-' || CAST((u * 13 + 5) % 25 AS VARCHAR), 'enabled', u % 7 <> 0)
    ),
    1, 1 + u % 3
  ) AS addons
FROM (SELECT unnest(range(0, 2000)) AS u) AS clients
CROSS JOIN (SELECT unnest(range(0, 7)) AS d) AS days
WHERE (u + d) % 3 <> 0
