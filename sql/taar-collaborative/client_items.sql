-- client_items: each client's rated add-ons as indices (0-based) into
-- $items, the model's items, sorted so that a client's sums run in one order
-- wherever it is read.
SELECT array_sort(array_agg(CAST(array_position($items, guid) AS BIGINT) - 1)) AS items
FROM ratings
WHERE array_has($items, guid)
GROUP BY client_id
