insert into assignment_issues
select experiment_id, 'multiple_variants', count(*), 'assigned to more than one variant: excluded'
from assigned where multiple_variants group by experiment_id
union all
select experiment_id, 'unknown_variant', count(*), 'assigned to a variant the pre-registration does not list: excluded'
from assigned where not multiple_variants and unknown_variant group by experiment_id
union all
select experiment_id, 'outside_window', count(*), 'first assigned outside the experiment dates: excluded'
from assigned
where not multiple_variants and not unknown_variant
  and (exposure_at < start_date::timestamptz or exposure_at >= (end_date + 1)::timestamptz)
group by experiment_id
union all
select a.experiment_id, 'unknown_experiment', count(distinct a.user_id), 'no pre-registration in experiments/'
from src_assignments a
where a.valid and a.experiment_id not in (select experiment_id from exp_specs)
group by a.experiment_id
union all
select coalesce(experiment_id, '?'), 'invalid_row', count(*), any_value(problem) || ' (e.g. ' || any_value(source_file) || ')'
from src_assignments where not valid
group by all
