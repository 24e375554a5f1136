-- prediction-powered estimates of each judge version's latest month with any (whole month, single
-- variants and all together, not paired): the three intervals side by side
with latest as (
    select judge_version, max(month) as month from ppi_estimates where scope = 'month' group by 1
)
select p.month, p.judge_version, p.method, p.variant, p.dimension, p.n_labeled, p.n_unlabeled,
       p.judge_estimate, p.judge_ci_low, p.judge_ci_high,
       p.classical_estimate, p.classical_ci_low, p.classical_ci_high,
       p.estimate, p.ci_low, p.ci_high, p.power_lambda, p.labels_saved
from ppi_estimates p
join latest using (judge_version, month)
where p.slice_dimension is null and p.compared_to is null and p.scope = 'month'
order by p.judge_version, p.method, p.variant = '*' desc, p.variant, p.dimension
