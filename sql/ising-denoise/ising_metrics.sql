-- One row per image: its size and tiling, the sweeps run, and how much the
-- denoising lowered the energy and, against a reference, the error.
SELECT
  i.name,
  i.image['width'] AS width,
  i.image['height'] AS height,
  i.image['tiles'] AS tiles,
  $method AS method,
  coalesce(s.converged_at, $sweeps) AS sweeps,
  CASE WHEN $method = 'gibbs' THEN NULL ELSE s.converged_at IS NOT NULL END AS converged,
  i.image['energy_noisy'] AS energy_noisy,
  i.image['energy'] AS energy,
  i.image['noisy_error'] AS noisy_error,
  i.image['error'] AS error
FROM images AS i
LEFT JOIN stops AS s ON s.name = i.name
ORDER BY i.name
