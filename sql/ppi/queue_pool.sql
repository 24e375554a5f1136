-- the label queue's pool for the month: every logged request of the month (log date in
-- [$start, $end)) that judge version $v scored and nobody has labelled yet, one row per item,
-- variant and dimension with the judge's score and the item's topic
with labelled as (
    select distinct item_id, coalesce(variant, '') as variant from human_labels where kind = 'pointwise'
)
select j.item_id, coalesce(j.variant, '') as variant, j.dimension, avg(j.score) as judge,
       any_value(c.metadata ->> 'topic') as topic
from judge_scores j
join clean_logs c on c.request_id = j.item_id and c.log_date >= $start::date and c.log_date < $end::date
anti join labelled l on l.item_id = j.item_id and l.variant = coalesce(j.variant, '')
where j.judge_version = $v and j.score is not null
group by all
order by j.item_id, variant, j.dimension
