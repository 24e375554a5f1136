-- judged logged responses where the judge and the human consensus disagree most (sum over
-- dimensions of |judge - median of annotators|), with the text, the scores and the rationale
with consensus as (
    select item_id, coalesce(variant, '') as variant, dimension, median(score) as human, count(*) as annotators
    from human_labels where kind = 'pointwise'
    group by all
),
judged as (
    select item_id, coalesce(variant, '') as variant, judge_version, dimension, any_value(score) as judge,
           any_value(rationale) as rationale
    from judge_scores where score is not null and judge_version = $version
    group by all
),
gaps as (
    select c.item_id, c.variant, sum(abs(j.judge - c.human)) as gap,
           string_agg(c.dimension || ' ' || j.judge || ' vs ' || c.human, ', ' order by c.dimension) as scores,
           any_value(j.rationale) as rationale
    from consensus c join judged j using (item_id, variant, dimension)
    group by c.item_id, c.variant
)
select g.item_id, g.variant, g.gap, g.scores, g.rationale,
       l.messages[-1].content as query, l.response
from gaps g
join clean_logs l on l.request_id = g.item_id
order by g.gap desc, g.item_id
limit $limit
