-- the judge's scores of each experiment's sampled responses, for experiments ending in
-- [$start, $end), with the user (the unit of randomization, so the cluster)
select s.experiment_id, c.control, s.variant, s.user_id, j.judge_version, j.dimension, j.score
from experiment_samples s
join experiment_summary e using (experiment_id)
join (select distinct experiment_id, control from experiment_results) c using (experiment_id)
join judge_scores j on j.item_id = s.item_id and j.source = 'experiment_sample' and j.score is not null
where e.end_date >= $start::date and e.end_date < $end::date
order by all
