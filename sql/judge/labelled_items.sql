-- Every logged response humans labelled (pointwise), once: the pipeline's judge scores it so
-- that judge_human_agreement can compare the two (item ids are request ids in clean_logs).
select distinct on (c.request_id) c.request_id as item_id, c.messages, c.response, any_value(l.variant) as variant
from human_labels l
join clean_logs c on c.request_id = l.item_id
where l.kind = 'pointwise'
group by c.request_id, c.messages, c.response
order by c.request_id
