-- sufficient statistics per (experiment, metric, variant), overall and per segment value
with m as (
    select experiment_id, metric, variant, user_id, value as y, denominator as d, pre_value as x,
           pre_denominator as z
    from user_metrics
)
select experiment_id, metric, variant, null::varchar as dimension, null::varchar as segment,
       count(*) as n, sum(y) as sum_y, sum(y * y) as sum_y2, sum(d) as sum_d, sum(d * d) as sum_d2,
       sum(y * d) as sum_yd, sum(x) as sum_x, sum(x * x) as sum_x2, sum(x * y) as sum_xy,
       sum(z) as sum_z, sum(z * z) as sum_z2, sum(x * z) as sum_xz, sum(y * z) as sum_yz, sum(d * x) as sum_dx,
       sum(d * z) as sum_dz
from m
group by experiment_id, metric, variant
union all
select m.experiment_id, m.metric, m.variant, s.dimension, s.value,
       count(*), sum(y), sum(y * y), sum(d), sum(d * d), sum(y * d), sum(x), sum(x * x), sum(x * y),
       sum(z), sum(z * z), sum(x * z), sum(y * z), sum(d * x), sum(d * z)
from m
join user_segments s on s.experiment_id = m.experiment_id and s.user_id = m.user_id
group by m.experiment_id, m.metric, m.variant, s.dimension, s.value
order by 1, 2, 4 nulls first, 5, 3
