-- months with at least $min_items human-labelled (pointwise) responses that clean_logs holds
select date_trunc('month', l.labeled_at)::date as month
from human_labels l
join clean_logs c on c.request_id = l.item_id
where l.kind = 'pointwise'
group by 1
having count(distinct l.item_id) >= $min_items
order by 1
