-- per metric, the most recent valid experiment that measured it (by end date), with its control
-- arm's mean and the control arm's sufficient statistics from user_metrics (to size a future
-- experiment on): n, sum y, sum y^2, sum d, sum d^2, sum y*d
with latest as (
    select r.metric, r.experiment_id, r.control, r.mean_control
    from experiment_results r
    join experiment_summary s using (experiment_id)
    where r.analysis in ('overall', 'sequential') and r.segment_dimension is null and not r.srm_invalid
      and r.mean_control is not null
    qualify row_number() over (partition by r.metric order by s.end_date desc, r.experiment_id) = 1
)
select l.metric, l.experiment_id, l.mean_control,
       count(*), sum(u.value), sum(u.value * u.value), sum(u.denominator), sum(u.denominator * u.denominator),
       sum(u.value * u.denominator)
from latest l
join user_metrics u on u.experiment_id = l.experiment_id and u.metric = l.metric and u.variant = l.control
group by l.metric, l.experiment_id, l.mean_control
