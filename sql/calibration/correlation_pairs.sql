-- every valid experiment-variant pair to the end of $end: judge delta against online effect
select judge_version, dimension, metric, experiment_id, variant, judge_delta, online_better,
       (judge_ci_low > 0 or judge_ci_high < 0) and coalesce(online_significant, false) as both_significant
from offline_online
where quarter < $end::date and not srm_invalid and judge_delta is not null and online_better is not null
order by all
