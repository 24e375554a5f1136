-- judge deltas (judge_deltas, from Python) joined with the online effect of every metric of the
-- same experiment and treatment: the main analysis row of experiment_results
insert into offline_online
select $quarter, d.experiment_id, d.variant, r.control, d.judge_version, d.dimension, d.n_control, d.n_treatment,
       d.clusters, d.judge_delta, d.judge_ci_low, d.judge_ci_high,
       r.metric, r.role, r.higher_is_better, r.diff, r.rel_diff, r.rel_ci_low, r.rel_ci_high, r.p_value, r.significant,
       r.rel_diff * (case when r.higher_is_better then 1 else -1 end) as online_better,
       r.srm_invalid, now()
from judge_deltas d
join experiment_results r on r.experiment_id = d.experiment_id and r.variant = d.variant
    and r.analysis in ('overall', 'sequential') and r.segment_dimension is null
