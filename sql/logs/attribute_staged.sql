-- Give every staged record its partition day and mark duplicates.
-- A reject without a usable timestamp belongs to the day of the nearest valid record before it
-- in the same file, else the nearest after it, else the file's modification day.
-- Among records sharing (day, request_id) the earliest by (timestamp, file, line) is kept.
create or replace temp table attributed as
with dated as (
    select s.*,
        coalesce(
            s.ts_date,
            last_value(s.ts_date ignore nulls) over (partition by s.source_file order by s.line_no
                rows between unbounded preceding and current row),
            first_value(s.ts_date ignore nulls) over (partition by s.source_file order by s.line_no
                rows between current row and unbounded following),
            f.mtime_date
        ) as log_date
    from staged s
    join read_files f using (source_file)
)
select *,
    case when reject_reason is null then
        row_number() over (partition by log_date, request_id, reject_reason is null
                           order by "timestamp", source_file, line_no)
    end as copy_no,
    coalesce(reject_field, '') as field
from dated
