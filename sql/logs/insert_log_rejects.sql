insert into log_rejects
select r.log_date, r.source_file, r.line_no, r.reject_field, r.reject_reason, s.raw, now()
from reject_days r
join staged s using (source_file, line_no)
where r.log_date >= $start and r.log_date < $end
