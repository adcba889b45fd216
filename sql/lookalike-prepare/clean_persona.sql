-- Clean persona (main_clean.clean_persona): one row per did that has exactly
-- one distinct (gender, age); dids with conflicting rows are dropped.
-- Values that are not integers become NULL (Spark's cast), counted by the job.
WITH combinations AS (
    SELECT DISTINCT did, gender_new_dev AS gender, forecast_age_dev AS age
    FROM ads_persona
    WHERE did IS NOT NULL
)
SELECT
    did,
    TRY_CAST(max(gender) AS INT) AS gender,
    TRY_CAST(max(age) AS INT) AS age,
    did_bucket(did, $did_bucket_num) AS did_bucket
FROM combinations
GROUP BY did
HAVING count(*) = 1
