-- Remember which days each file touches, so a later run for one day reads only its files, and
-- why a file gave nothing: unreadable as a whole (a reject at line 0), or no valid record.
-- One row per file: a merge, not a key constraint (DuckLake has none), keeps it so on both backends.
-- A file with a timestamp outside the accepted range gets no days: that reject is a record on its
-- own day once the range moves (EVALFUNNEL_LOGS_SINCE set earlier, a future time come), so a later
-- run must not skip the file by days it holds today.
merge into log_files t
using (
    with per_file as (
        select source_file, count(*) as records, count(*) filter (where not rejected) as valid,
               min(log_date) as first_date, max(log_date) as last_date
        from staged_days group by source_file
    ),
    file_errors as (
        select source_file, max(reject_reason) as error from reject_days where line_no = 0 group by source_file
    ),
    out_of_range as (
        select distinct source_file from staged where "timestamp" is not null and ts_date is null
    ),
    first_rejects as (
        select source_file, count(*) as n, arg_min(reject_reason, line_no) as reason
        from reject_days group by source_file
    )
    select f.source_file, f.size_bytes, f.mtime_ns, coalesce(p.records, 0) as records,
           case when o.source_file is null then p.first_date end as first_date,
           case when o.source_file is null then p.last_date end as last_date,
           coalesce(e.error, case when p.valid = 0 then 'no valid record: ' || r.n || ' line(s) rejected, the first: ' || r.reason end) as error
    from read_files f
    left join per_file p using (source_file)
    left join file_errors e using (source_file)
    left join first_rejects r using (source_file)
    left join out_of_range o using (source_file)
) s
on t.source_file = s.source_file
when matched then update set size_bytes = s.size_bytes, mtime_ns = s.mtime_ns, records = s.records,
    first_date = s.first_date, last_date = s.last_date, error = s.error, indexed_at = now()
when not matched then insert values (s.source_file, s.size_bytes, s.mtime_ns, s.records, s.first_date, s.last_date, s.error, now())
