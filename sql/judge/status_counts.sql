-- Judgments per status for one judge version (one per item: the first dimension's row).
select status, count(*) from judge_scores
where judge_version = $judge_version and dimension = $dimension and source in ('eval_set', 'experiment_sample')
group by status
