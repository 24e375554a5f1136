-- the month's pointwise human labels next to every judge version's score of the same item,
-- variant and dimension, with the item's topic where the item is a logged request
with judged as (
    select item_id, variant, judge_version, dimension, any_value(score) as score
    from judge_scores
    where score is not null
    group by all
)
select l.item_id, coalesce(l.variant, '') as variant, l.dimension, l.annotator_id, l.score as human,
       j.judge_version, j.score as judge, c.metadata ->> 'topic' as topic
from human_labels l
join judged j on j.item_id = l.item_id and j.variant is not distinct from l.variant and j.dimension = l.dimension
left join clean_logs c on c.request_id = l.item_id
where l.kind = 'pointwise' and l.labeled_at >= $start::timestamptz and l.labeled_at < $end::timestamptz

-- a fixed order: the bootstrap resamples items by position, so the same data gives the same CIs
order by l.item_id, variant, l.dimension, l.annotator_id, j.judge_version
