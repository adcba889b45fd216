-- Each image's tiles stitched back: the PNG, its energy and error rates.
SELECT name, ising_image(array_agg(named_struct('tile', tile, 'values', denoised)), $model) AS image
FROM denoised
GROUP BY name
