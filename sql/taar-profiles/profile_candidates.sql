-- profile_candidates: each client's latest subsessions of the day, picked as
-- taar_dynamo did: the greatest subsession_start_date as a *string* (mixed UTC
-- offsets compare as text), keeping every row tied for it. `problem` says why
-- a row cannot become a profile; rows without a client id are all kept here
-- (not just the latest) so that every one of them is counted.
WITH day AS (
  SELECT * FROM main_summary
  WHERE submission_date_s3 = $day
    AND ($sample_rate = 0 OR CAST(seeded_hash($seed, client_id) AS DOUBLE) < $sample_rate * 9223372036854775807.0)
),
latest AS (
  SELECT *, rank() OVER (PARTITION BY client_id ORDER BY subsession_start_date DESC NULLS LAST) AS recency
  FROM day
),
parsed AS (
  -- ISO 8601 dates and date-times; the start date is the local date the string
  -- names, in its own offset, as dateutil read it.
  SELECT *,
    CASE WHEN regexp_like(subsession_start_date,
                          '^\d{4}-\d{2}-\d{2}([T ]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$')
         THEN try_cast(substr(subsession_start_date, 1, 10) AS DATE) END AS start_day
  FROM latest
  WHERE recency = 1 OR client_id IS NULL OR client_id = ''
)
SELECT *,
  CASE
    WHEN client_id IS NULL THEN 'NULL client_id'
    WHEN client_id = '' THEN 'empty client_id'
    WHEN start_day IS NULL THEN 'subsession_start_date missing or not an ISO 8601 date'
    WHEN start_day < DATE '1970-01-01' THEN 'subsession_start_date before 1970'
  END AS problem
FROM parsed
