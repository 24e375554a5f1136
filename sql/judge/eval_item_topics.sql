-- the topic of every eval-set item (its latest quarter)
select distinct on (item_id) item_id, metadata ->> 'topic'
from eval_set
where metadata ->> 'topic' is not null
order by item_id, quarter desc
