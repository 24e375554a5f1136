-- every valid experiment-variant pair with its judge delta and online effect, per judge version,
-- dimension and metric
select judge_version, dimension, metric, experiment_id, variant, judge_delta, judge_ci_low, judge_ci_high,
       online_better, online_significant, (judge_ci_low > 0 or judge_ci_high < 0) as judge_significant
from offline_online
where not srm_invalid and judge_delta is not null and online_better is not null
order by all
