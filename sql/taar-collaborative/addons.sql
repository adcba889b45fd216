-- addons: the add-ons rated, with how many clients rated each.
SELECT guid, count(*) AS clients
FROM ratings
GROUP BY guid
ORDER BY guid
