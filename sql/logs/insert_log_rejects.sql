-- The window's rejects, as dated and scrubbed (reject_days).
insert into log_rejects
select log_date, source_file, line_no, reject_field, reject_reason, raw, now()
from reject_days
where log_date >= $start and log_date < $end
