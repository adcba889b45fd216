-- addons: the add-ons rated, the model's items, in guid order.
SELECT DISTINCT guid
FROM ratings
ORDER BY guid
