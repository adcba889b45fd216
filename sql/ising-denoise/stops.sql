-- Per image, the first sweep whose mean absolute change per pixel is at
-- most --tol (the sums are exact, so a tiled image stops where the whole
-- image would); no row when an image never gets there.
SELECT name, min(sweep) AS converged_at
FROM (
  SELECT name, sweep, sum(change) AS change, sum(pixels) AS pixels
  FROM changes
  GROUP BY name, sweep
) AS sweeps
WHERE change <= $tol * pixels
GROUP BY name
