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
           count(*) filter (where copy_no = 1) as loaded,
           count(*) filter (where reject_reason is not null) as rejected,
           count(*) filter (where copy_no > 1) as duplicates
    from attributed
    group by log_date
)
select w.log_date, coalesce(c.files, 0), coalesce(c.read, 0), coalesce(c.loaded, 0),
       coalesce(c.rejected, 0), coalesce(c.duplicates, 0), now()
from window_days w
left join counts c using (log_date)
