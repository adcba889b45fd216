-- Apps the keyword mapping lists more than once (at most 3, for the error):
-- an app with two keywords would count its rows twice, so the job stops.
SELECT spread_app_id FROM ad_keywords GROUP BY spread_app_id HAVING count(*) > 1 ORDER BY 1 LIMIT 3
