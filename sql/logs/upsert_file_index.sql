-- Remember which days each file touches, so a later run for one day reads only its files.
insert or replace into log_files
with per_file as (
    select source_file, count(*) as records, min(log_date) as first_date, max(log_date) as last_date
    from staged_days group by source_file
),
file_errors as (
    select source_file, max(reject_reason) as error from reject_days where line_no = 0 group by source_file
)
select f.source_file, f.size_bytes, f.mtime_ns, coalesce(p.records, 0), p.first_date, p.last_date, e.error, now()
from read_files f
left join per_file p using (source_file)
left join file_errors e using (source_file)
