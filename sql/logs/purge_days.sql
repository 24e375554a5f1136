-- Delete the raw text of purgeable days (registered as `purge`) and remember them, so a later
-- clean_logs run keeps their clean rows instead of emptying them.
insert or replace into raw_purges select log_date, raw_rows, reject_rows, now() from purge
