-- valid_addons: the add-ons TAAR may recommend, as `guid`, from addon_rows
-- (one row per add-on of a client, the add-on in the struct column `addon`;
-- every other column is kept). Python truthiness as the originals: a NULL
-- flag counts as false. Valid means not a system add-on, not disabled by
-- the app or the user, not foreign-installed, of type 'extension', and in
-- the curated $whitelist. Shared by taar-lite-guidguid and taar-similarity.
SELECT * EXCLUDE (addon), addon['addon_id'] AS guid
FROM addon_rows
WHERE NOT coalesce(addon['is_system'], false)
  AND NOT coalesce(addon['app_disabled'], false)
  AND NOT coalesce(addon['user_disabled'], false)
  AND NOT coalesce(addon['foreign_install'], false)
  AND addon['type'] = 'extension'
  AND array_has($whitelist, addon['addon_id'])
