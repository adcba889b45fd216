-- Units (and rows) left out of the readout, and why.
SELECT
  count(*) FILTER (WHERE variant IS NULL) AS never_exposed,
  count(*) FILTER (WHERE variant IS NOT NULL AND variants > 1) AS several_variants,
  (SELECT count(*) FROM ab_rows WHERE unit IS NULL) AS rows_without_unit
FROM unit_events
