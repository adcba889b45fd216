-- What persona cleaning dropped or could not read, for the job's log.
SELECT
    (SELECT count(*) FROM ads_persona) AS rows_read,
    (SELECT count(*) FROM (
        SELECT did FROM (SELECT DISTINCT did, gender_new_dev, forecast_age_dev FROM ads_persona)
        GROUP BY did HAVING count(*) > 1
    )) AS conflicting_dids,
    (SELECT count(*) FROM clean_persona WHERE gender IS NULL) AS gender_not_integer,
    (SELECT count(*) FROM clean_persona WHERE age IS NULL) AS age_not_integer
