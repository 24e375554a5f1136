-- Every text clean_logs holds for a window, one row per text, for the residue scan.
select content as text from (select unnest(messages).content as content from clean_logs where log_date >= $start and log_date < $end)
union all select response from clean_logs where log_date >= $start and log_date < $end
union all select feedback.edited_response from clean_logs where log_date >= $start and log_date < $end and feedback.edited_response is not null
union all select cast(metadata as varchar) from clean_logs where log_date >= $start and log_date < $end and metadata is not null
union all select cast(extra as varchar) from clean_logs where log_date >= $start and log_date < $end and extra is not null
