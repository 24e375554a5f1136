-- every candidate response, once per (item, variant), for pointwise judging
select item_id, variant, any_value(messages), any_value(response)
from candidate_responses
group by item_id, variant
order by item_id, variant
