-- The seed audience, each did once.
SELECT DISTINCT did FROM seed_rows WHERE did IS NOT NULL
