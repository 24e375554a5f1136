-- per metric, the most recent valid experiment that measured it (by end date): the control arm's
-- mean and the experiment, to size a future experiment on
select r.metric, r.experiment_id, r.mean_control, r.n_control
from experiment_results r
join experiment_summary s using (experiment_id)
where r.analysis in ('overall', 'sequential') and r.segment_dimension is null and not r.srm_invalid
  and r.mean_control is not null
qualify row_number() over (partition by r.metric order by s.end_date desc, r.experiment_id) = 1
