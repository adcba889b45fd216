-- The denoised images, for the driver to stage as files.
SELECT name, image['png'] AS png
FROM images
ORDER BY name
