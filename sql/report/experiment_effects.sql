-- the main row of every primary and guardrail metric per experiment and treatment, with the
-- experiment's decision and SRM status
select s.experiment_id, s.decision, s.srm_p_value, s.srm_invalid, s.reason, r.variant, r.metric, r.role,
       r.rel_diff, r.rel_ci_low, r.rel_ci_high, r.higher_is_better, r.significant, r.ni_passed, r.analysis
from experiment_summary s
left join experiment_results r on r.experiment_id = s.experiment_id and r.role in ('primary', 'guardrail')
    and r.analysis in ('overall', 'sequential') and r.segment_dimension is null
order by s.start_date, s.experiment_id, r.variant, r.role desc, r.metric
