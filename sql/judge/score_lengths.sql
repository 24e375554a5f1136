-- Each pipeline judgment's score and its response's length, per dimension, for the length bias.
select j.dimension, j.score, length(coalesce(e.response, s.response)) as response_chars
from judge_scores j
left join (select distinct on (item_id) item_id, response from eval_set) e on j.source = 'eval_set' and e.item_id = j.item_id
left join (select distinct on (item_id) item_id, response from experiment_samples) s
       on j.source = 'experiment_sample' and s.item_id = j.item_id
where j.judge_version = $judge_version and j.score is not null
