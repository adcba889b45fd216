-- Every tile denoised for the image's sweeps: up to its convergence, else
-- all of them.
SELECT t.name, t.tile, ising_denoise(t.tile, coalesce(s.converged_at, $sweeps), $model) AS denoised
FROM spread_tiles AS t
LEFT JOIN stops AS s ON s.name = t.name
