-- the selected items' text for the labelling file: the last user turn and the response, as cleaned
select q.item_id, q.variant, q.inclusion_probability, array_to_string(q.reasons, ';') as reasons,
       c.messages[-1].content as query, c.response
from label_queue q
join clean_logs c on c.request_id = q.item_id
where q.month = $start::date and q.selected
order by q.item_id, q.variant
