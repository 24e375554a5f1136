-- Idempotent writes: a judge version's rows for these sources are replaced as a whole.
delete from judge_scores where judge_version = $judge_version and source = $source
