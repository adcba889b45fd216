-- client_profiles: one TAAR profile blob per client, keyed by the SHA-256 hex
-- of the client id. The payload is the JSON taar_dynamo stored: the row's
-- fields in column order with falsy values (NULL, 0, '', []) left out, then
-- the hashed client_id and start_date; zlib-compressed. Ties for the latest
-- start keep the row with the greatest payload, so the choice is stable.
WITH profiles AS (
  SELECT
    encode(sha256(client_id), 'hex') AS hashed_id,
    to_python_json(named_struct(
      'city', nullif(city, ''),
      'subsession_start_date', subsession_start_date,
      'subsession_length', nullif(subsession_length, 0),
      'locale', nullif(locale, ''),
      'os', nullif(os, ''),
      'places_bookmarks_count', nullif(places_bookmarks_count, 0),
      'scalar_parent_browser_engagement_tab_open_event_count', nullif(scalar_parent_browser_engagement_tab_open_event_count, 0),
      'scalar_parent_browser_engagement_total_uri_count', nullif(scalar_parent_browser_engagement_total_uri_count, 0),
      'scalar_parent_browser_engagement_unique_domains_count', nullif(scalar_parent_browser_engagement_unique_domains_count, 0),
      'active_addons', CASE WHEN list_size(active_addons) > 0 THEN active_addons END,
      'disabled_addons_ids', CASE WHEN list_size(disabled_addons_ids) > 0 THEN disabled_addons_ids END,
      'client_id', encode(sha256(client_id), 'hex'),
      'start_date', replace(CAST(start_day AS VARCHAR), '-', '')
    )) AS payload
  FROM profile_candidates
  WHERE problem IS NULL
),
kept AS (
  SELECT *, row_number() OVER (PARTITION BY hashed_id ORDER BY payload DESC) AS n FROM profiles
)
SELECT
  hashed_id AS client_id,
  $ttl AS ttl,
  zlib_compress(payload) AS json_payload,
  substr(hashed_id, 1, 2) AS client_id_prefix
FROM kept
WHERE n = 1
