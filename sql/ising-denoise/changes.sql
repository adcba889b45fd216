-- Mean-field and ICM: how much each tile's interior changes in each sweep
-- (empty for Gibbs sampling). Grouping by tile spreads the tiles over the
-- executors (a hash shuffle).
WITH spread AS (
  SELECT name, first_value(tile) AS tile
  FROM tiles
  GROUP BY name, tile_index
)
SELECT name, c['sweep'] AS sweep, c['change'] AS change, c['pixels'] AS pixels
FROM (SELECT name, unnest(ising_changes(tile, $model)) AS c FROM spread) AS per_tile
