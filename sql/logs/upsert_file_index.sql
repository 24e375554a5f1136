-- Remember which days each file touches, so a later run for one day reads only its files.
insert or replace into log_files
select f.source_file, f.size_bytes, f.mtime_ns,
       count(a.line_no) as records,
       min(a.log_date) as first_date,
       max(a.log_date) as last_date,
       max(case when a.line_no = 0 then a.reject_reason end) as error,
       now() as indexed_at
from read_files f
left join attributed a using (source_file)
group by f.source_file, f.size_bytes, f.mtime_ns
