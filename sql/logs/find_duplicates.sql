-- Valid records that repeat a (day, request_id) already seen: the earliest by (timestamp, file,
-- line) is kept. Keys are found by aggregation first, so only repeated keys are ranked.
create or replace temp table duplicate_rows as
with repeated as (
    select ts_date, request_id from staged where reject_reason is null
    group by ts_date, request_id having count(*) > 1
),
ranked as (
    select s.source_file, s.line_no, s.ts_date,
           row_number() over (partition by s.ts_date, s.request_id order by s."timestamp", s.source_file, s.line_no) as copy_no
    from staged s
    join repeated r using (ts_date, request_id)
    where s.reject_reason is null
)
select source_file, line_no, ts_date as log_date from ranked where copy_no > 1
