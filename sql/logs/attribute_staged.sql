-- Date the rejects: a reject without a usable timestamp (missing, unreadable or outside the
-- accepted range) belongs to the day of the nearest record before it in the same file that has
-- one (a valid record or a reject with a usable timestamp), else the nearest after it. So every
-- day a file gives lies within the span of its usable timestamps, which is what a
-- timestamp-only scan finds (pipeline/logs/ingest.py skips a file by it). A file without any
-- usable timestamp keeps the day the file index gave it when it was first read (while the file
-- is unchanged), else its modification day moved into the source's days [$src_first,
-- $src_last] and never past $last_complete (yesterday, the last daily partition), so the day
-- is one a run materializes.
-- Only rejected rows and their neighbours are touched; valid rows keep their own day.
create or replace temp table reject_days as
with rejected as (
    select source_file, line_no, ts_date, reject_field, reject_reason, raw from staged where reject_reason is not null
),
dated as (
    select source_file, line_no, ts_date from staged
    where ts_date is not null and source_file in (select source_file from rejected)
),
before as (
    select r.source_file, r.line_no, v.ts_date as day_before
    from rejected r asof left join dated v on r.source_file = v.source_file and r.line_no >= v.line_no
),
after as (
    select r.source_file, r.line_no, v.ts_date as day_after
    from rejected r asof left join dated v on r.source_file = v.source_file and r.line_no <= v.line_no
)
select r.source_file, r.line_no, r.reject_field, r.reject_reason, r.raw,
       coalesce(r.ts_date, b.day_before, a.day_after, f.indexed_day,
                least(greatest(least(f.mtime_date, coalesce($src_last, f.mtime_date)), coalesce($src_first, f.mtime_date)),
                      $last_complete)) as log_date
from rejected r
join before b using (source_file, line_no)
join after a using (source_file, line_no)
join read_files f using (source_file)
