insert into log_rejects
select log_date, source_file, line_no, reject_field, reject_reason, raw, now()
from attributed
where reject_reason is not null and log_date >= $start and log_date < $end
