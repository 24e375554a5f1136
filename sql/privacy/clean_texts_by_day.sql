-- Every text clean_logs holds for a window, with its day, one row per text, for the residue scan
-- of several days in one query (on a DuckLake every query pays catalog round trips).
select log_date, content as text from (select log_date, unnest(messages).content as content from clean_logs where log_date >= $start and log_date < $end)
union all select log_date, response from clean_logs where log_date >= $start and log_date < $end
union all select log_date, feedback.edited_response from clean_logs where log_date >= $start and log_date < $end and feedback.edited_response is not null
union all select log_date, cast(metadata as varchar) from clean_logs where log_date >= $start and log_date < $end and metadata is not null
union all select log_date, cast(extra as varchar) from clean_logs where log_date >= $start and log_date < $end and extra is not null
