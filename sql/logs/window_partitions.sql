-- The per-day counts of a window, as just written.
select log_date, files, read, loaded, rejected, duplicates from log_partitions
where log_date >= $start and log_date < $end
order by log_date
