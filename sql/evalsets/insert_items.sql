insert into eval_set
select quarter, version_id, item_id, kind, stratum,
       case when kind = 'head' then 'production mix' else grp end,
       messages, query, response, cast(metadata as json), "timestamp", now()
from drawn_items
