-- Every eval-set item (all quarters), once: what judge_scores scores with the pipeline's judge.
select distinct on (item_id) item_id, messages, response from eval_set order by item_id, quarter desc
