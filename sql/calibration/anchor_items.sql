-- the anchor set: the logged responses humans labelled in the anchor month
select c.request_id, any_value(l.variant), c.messages, c.response
from human_labels l
join clean_logs c on c.request_id = l.item_id
where l.kind = 'pointwise' and l.labeled_at >= $start::timestamptz and l.labeled_at < $end::timestamptz
group by c.request_id, c.messages, c.response
order by c.request_id
