-- donor_rows: the donors in the order donors.json lists them: by cluster,
-- then by their seeded pick within it.
SELECT * FROM donors ORDER BY prediction, pick
