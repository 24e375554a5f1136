-- Days past the retention cutoff whose raw rows or rejects are still stored, and whose
-- clean_logs exist: every raw row of the day has its clean row (a day of rejects only has
-- nothing to clean), written after the raw rows were last ingested. A day ingested but not yet
-- cleaned is never purged, nor one ingested again since it was cleaned: on a shared lake another
-- run may be re-ingesting a day whose old clean rows still match its count, and purging its new
-- raw text would leave that run nothing to clean.
with raw_days as (
    select log_date, count(*) as raw_rows, max(ingested_at) as last_ingested
    from raw_logs where log_date < $cutoff group by log_date
),
reject_days as (
    select log_date, count(*) as reject_rows from log_rejects where log_date < $cutoff group by log_date
),
clean_days as (
    select log_date, count(*) as clean_rows, min(cleaned_at) as first_cleaned
    from clean_logs where log_date < $cutoff group by log_date
)
select log_date, coalesce(r.raw_rows, 0) as raw_rows, coalesce(j.reject_rows, 0) as reject_rows
from raw_days r
full join reject_days j using (log_date)
left join clean_days c using (log_date)
where coalesce(r.raw_rows, 0) = coalesce(c.clean_rows, 0)
  and (r.last_ingested is null or c.first_cleaned >= r.last_ingested)
order by log_date
