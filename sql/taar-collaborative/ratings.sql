-- ratings: each client's add-ons the collaborative model learns from, once
-- each (an implicit rating of 1). As the original: every flag it reads must
-- be known (a NULL drops the add-on), and the add-on is not blocklisted,
-- signed if an extension (signed_state 2), enabled, not a system add-on, on
-- the curated $whitelist and in the AMO dump ($amo_guids).
SELECT DISTINCT client_id, addon['addon_id'] AS guid
FROM addon_rows
WHERE addon['addon_id'] IS NOT NULL AND addon['name'] IS NOT NULL AND addon['blocklisted'] IS NOT NULL
  AND addon['signed_state'] IS NOT NULL AND addon['user_disabled'] IS NOT NULL
  AND addon['app_disabled'] IS NOT NULL AND addon['type'] IS NOT NULL AND addon['is_system'] IS NOT NULL
  AND NOT addon['blocklisted']
  AND (addon['type'] <> 'extension' OR addon['signed_state'] = 2)
  AND NOT addon['user_disabled'] AND NOT addon['app_disabled'] AND NOT addon['is_system']
  AND array_has($whitelist, addon['addon_id'])
  AND array_has($amo_guids, addon['addon_id'])
