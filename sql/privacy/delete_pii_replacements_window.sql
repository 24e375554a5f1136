-- Idempotent writes: clear the window before inserting it again (purged days are kept).
delete from pii_replacements where log_date >= $start and log_date < $end and not list_contains($kept, log_date)
