-- Idempotent writes: clear the window before inserting it again.
delete from pii_replacements where log_date >= $start and log_date < $end
