-- Every tile denoised for the image's sweeps: up to its convergence, else
-- all of them. Grouping by tile spreads the tiles over the executors.
WITH spread AS (
  SELECT name, first_value(tile) AS tile
  FROM tiles
  GROUP BY name, tile_index
)
SELECT t.name, t.tile, ising_denoise(t.tile, coalesce(s.converged_at, $sweeps), $model) AS denoised
FROM spread AS t
LEFT JOIN stops AS s ON s.name = t.name
