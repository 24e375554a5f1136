-- the month's judged items for prediction-powered estimates: per judge version, logged request of
-- the month (its log date in [$start, $end)), variant and dimension, the judge's score; where people
-- labelled the item (in any month: labels come after the traffic), the mean of their scores; and the
-- month's label queue entry, when the item was in it (the probability it was drawn with)
with judged as (
    select j.judge_version, j.item_id, coalesce(j.variant, '') as variant, j.dimension, avg(j.score) as judge
    from judge_scores j
    join clean_logs c on c.request_id = j.item_id and c.log_date >= $start::date and c.log_date < $end::date
    where j.score is not null
    group by all
),
humans as (
    select item_id, coalesce(variant, '') as variant, dimension, avg(score) as human, count(*) as n_labels
    from human_labels
    where kind = 'pointwise' and score is not null
    group by all
),
topics as (
    select request_id as item_id, any_value(metadata ->> 'topic') as topic
    from clean_logs
    where log_date >= $start::date and log_date < $end::date
    group by 1
)
select j.judge_version, j.item_id, j.variant, j.dimension, j.judge, h.human, t.topic,
       q.inclusion_probability, coalesce(q.selected, false) as queued, q.judge_version as queue_judge
from judged j
join topics t using (item_id)
left join humans h using (item_id, variant, dimension)
left join label_queue q on q.month = $start::date and q.item_id = j.item_id and q.variant = j.variant
-- a fixed order: the same data gives the same rows
order by j.judge_version, j.variant, j.dimension, j.item_id
