-- The tiles grouped by image and tile: the hash shuffle that spreads the
-- tiles of every image over the executors (a projection alone would run
-- where the image was decoded). Each reader's heavy function runs after it.
SELECT name, first_value(tile) AS tile
FROM tiles
GROUP BY name, tile_index
