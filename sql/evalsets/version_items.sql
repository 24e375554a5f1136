-- The items of a version with their kind and group, as "kind:group" (the changelog's reason).
select distinct item_id, kind || ':' || (case when kind = 'head' then stratum else reason end)
from eval_set where version_id = $v
