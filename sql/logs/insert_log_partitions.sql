-- One row per day of the window, days without records included, so counts always reconcile:
-- read = loaded + rejected + duplicates.
insert into log_partitions
with window_days as (
    select cast(unnest(generate_series(cast($start as timestamp), cast($end as timestamp) - interval 1 day,
                                       interval 1 day)) as date) as log_date
),
counts as (
    select log_date,
           count(distinct source_file) as files,
           count(*) as read,
           count(*) filter (where rejected) as rejected
    from staged_days
    group by log_date
),
duplicates as (
    select log_date, count(*) as duplicates from duplicate_rows group by log_date
)
select w.log_date, coalesce(c.files, 0), coalesce(c.read, 0),
       coalesce(c.read, 0) - coalesce(c.rejected, 0) - coalesce(d.duplicates, 0),
       coalesce(c.rejected, 0), coalesce(d.duplicates, 0), now()
from window_days w
left join counts c using (log_date)
left join duplicates d using (log_date)
