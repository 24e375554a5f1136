-- months in which judge version $v has at least $min_items labelled-and-judged items on some
-- dimension, earliest first
select date_trunc('month', l.labeled_at)::date as month
from human_labels l
join (select distinct item_id, variant, dimension from judge_scores where judge_version = $v and score is not null) j
    on j.item_id = l.item_id and j.variant is not distinct from l.variant and j.dimension = l.dimension
where l.kind = 'pointwise'
group by 1, l.dimension
having count(distinct (l.item_id, coalesce(l.variant, ''))) >= $min_items
order by 1
