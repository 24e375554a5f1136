-- Days of the window whose raw rows were purged after cleaning and not ingested again: their
-- clean_logs rows are kept as they are.
select p.log_date from raw_purges p
where p.log_date >= $start and p.log_date < $end
  and not exists (select 1 from raw_logs r where r.log_date = p.log_date)
