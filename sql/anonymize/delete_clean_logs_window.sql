-- Idempotent writes: clear the window before inserting it again.
delete from clean_logs where log_date >= $start and log_date < $end
