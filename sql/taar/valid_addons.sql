-- valid_addons: the add-ons TAAR may recommend, from client_addons (one row
-- per client-day with its `active_addons`; every other column is kept), as
-- each row's list `guids`, in the order of active_addons. Filtered in place
-- rather than unnested and grouped back, which would move every add-on row
-- through a shuffle on a cluster. Python truthiness as the originals: a NULL
-- flag counts as false. Valid means not a system add-on, not disabled by
-- the app or the user, not foreign-installed, of type 'extension', and in
-- the curated $whitelist. Shared by taar-lite-guidguid and taar-similarity.
SELECT * EXCLUDE (active_addons),
       array_transform(
         array_filter(active_addons, a ->
           NOT coalesce(a['is_system'], false)
           AND NOT coalesce(a['app_disabled'], false)
           AND NOT coalesce(a['user_disabled'], false)
           AND NOT coalesce(a['foreign_install'], false)
           AND a['type'] = 'extension'
           AND array_has($whitelist, a['addon_id'])),
         a -> a['addon_id']) AS guids
FROM client_addons
