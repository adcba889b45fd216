-- Mean-field and ICM: how much each tile's interior changes in each sweep
-- (empty for Gibbs sampling).
SELECT name, c['sweep'] AS sweep, c['change'] AS change, c['pixels'] AS pixels
FROM (SELECT name, unnest(ising_changes(tile, $model)) AS c FROM spread_tiles) AS per_tile
