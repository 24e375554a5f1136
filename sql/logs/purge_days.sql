-- Delete the raw text of purgeable days (registered as `purge`) and remember them, so a later
-- clean_logs run keeps their clean rows instead of emptying them. One row per day: a merge, not a
-- key constraint (DuckLake has none), keeps it so on both backends.
merge into raw_purges t
using (select log_date, raw_rows, reject_rows from purge) s
on t.log_date = s.log_date
when matched then update set raw_rows = s.raw_rows, reject_rows = s.reject_rows, purged_at = now()
when not matched then insert values (s.log_date, s.raw_rows, s.reject_rows, now())
