-- window_rows: how many clients_daily rows the job's window ($start, $end]
-- holds. A job whose window holds none stops rather than replace its outputs
-- with empty ones (unless --allow-empty).
SELECT count(*) AS n
FROM clients_daily
WHERE submission_date_s3 > $start AND submission_date_s3 <= $end
