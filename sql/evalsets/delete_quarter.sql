-- Idempotent writes: a rebuild replaces the quarter's items.
delete from eval_set where quarter = $quarter
