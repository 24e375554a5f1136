-- The most recent eval-set version other than $exclude: the parent of a new build.
select version_id from eval_set_versions where version_id <> $exclude order by created_at desc limit 1
