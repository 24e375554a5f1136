-- Idempotent writes: clear the window before inserting it again.
delete from log_rejects where log_date >= $start and log_date < $end
