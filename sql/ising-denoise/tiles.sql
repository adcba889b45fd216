-- Every image decoded into tiles: observations of the tile and its halo
-- (wide enough that the interior denoises as the whole image would) and the
-- clean reference of the interior, when there is one.
SELECT name, tile['index'] AS tile_index, tile
FROM (SELECT name, unnest(ising_tiles(name, image, reference, $model)) AS tile FROM ising_images) AS cut
