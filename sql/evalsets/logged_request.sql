-- One anonymized logged interaction, to promote into a regression case.
select messages, response from clean_logs where request_id = $request_id order by log_date desc limit 1
