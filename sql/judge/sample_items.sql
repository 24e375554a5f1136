-- Every experiment sample, once, for judge_scores.
select distinct on (item_id) item_id, messages, response, variant from experiment_samples order by item_id, month desc
