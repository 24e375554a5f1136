-- per metric, the most recent valid experiment that measured it (by end date), with its control
-- arm's mean and the control arm's sufficient statistics from user_metrics (to size a future
-- experiment on): n and the sums of y, y^2, d, d^2, y*d centred on the arm's means (raw sums
-- of squares of large values lose the variance to cancellation); non-finite values left out
with latest as (
    select r.metric, r.experiment_id, r.control, r.mean_control
    from experiment_results r
    join experiment_summary s using (experiment_id)
    where r.analysis in ('overall', 'sequential') and r.segment_dimension is null and not r.srm_invalid
      and r.mean_control is not null
    qualify row_number() over (partition by r.metric order by s.end_date desc, r.experiment_id) = 1
),
arm as (
    select l.metric, l.experiment_id, l.mean_control, u.value, u.denominator,
           avg(u.value) over w as ref_y, avg(u.denominator) over w as ref_d
    from latest l
    join user_metrics u on u.experiment_id = l.experiment_id and u.metric = l.metric and u.variant = l.control
    where isfinite(u.value) and isfinite(u.denominator)
    window w as (partition by l.metric)
)
select metric, experiment_id, mean_control, count(*) as n, sum(value - ref_y) as sum_y,
       sum((value - ref_y) * (value - ref_y)) as sum_y2, sum(denominator - ref_d) as sum_d,
       sum((denominator - ref_d) * (denominator - ref_d)) as sum_d2,
       sum((value - ref_y) * (denominator - ref_d)) as sum_yd, any_value(ref_y) as ref_y, any_value(ref_d) as ref_d
from arm
group by metric, experiment_id, mean_control
