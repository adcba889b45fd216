-- training_table: the stacked rows with their inputs, for inspection.
SELECT * FROM stacked
