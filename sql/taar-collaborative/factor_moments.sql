-- factor_moments: one ALS iteration's work over the clients, on the
-- executors: every client's factors solved from the items' $model, then
-- summed per item (exactly, so the sums do not depend on partitioning) for
-- the driver to solve each item's factors.
SELECT factor_moments(items, als_user_factors(items, $model)) AS moments
FROM client_items
