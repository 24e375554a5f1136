-- the items of the eval-set versions built for quarter $quarter: per version, judge version, item
-- and dimension, the judge's score on the item (eval-set items are judged without a variant) and,
-- where people labelled it, the mean of their scores; the item's stratum kind as its slice
with judged as (
    select judge_version, item_id, dimension, avg(score) as judge
    from judge_scores
    where source = 'eval_set' and score is not null
    group by all
),
humans as (
    select item_id, dimension, avg(score) as human
    from human_labels
    where kind = 'pointwise' and score is not null and coalesce(variant, '') = ''
    group by all
)
select e.version_id, j.judge_version, e.item_id, '' as variant, j.dimension, j.judge, h.human, e.kind as topic,
       cast(null as double) as inclusion_probability, false as queued, cast(null as varchar) as queue_judge
from eval_set e
join judged j using (item_id)
left join humans h using (item_id, dimension)
where e.quarter = $quarter::date
order by e.version_id, j.judge_version, j.dimension, e.item_id
