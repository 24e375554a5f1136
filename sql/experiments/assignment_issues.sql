-- the users left out per experiment and issue (pipeline/experiments/exposure.py, summed over the
-- buckets by analysis.py), and the assignment rows that could not be read at all
insert into assignment_issues
select experiment_id, issue, users, detail from issue_counts
union all
select coalesce(experiment_id, '?'), 'invalid_row', count(*), any_value(problem) || ' (e.g. ' || any_value(source_file) || ')'
from src_assignments where not valid
group by all
