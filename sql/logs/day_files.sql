-- Every staged record's day and file (valid records by their timestamp, rejects as dated),
-- the basis of the per-day and per-file counts.
create or replace temp table staged_days as
select ts_date as log_date, source_file, line_no, false as rejected from staged where reject_reason is null
union all
select log_date, source_file, line_no, true as rejected from reject_days
