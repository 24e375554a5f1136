-- candidate items where the pairwise judge contradicted itself across the two orders: where it
-- is least certain
with verdicts as (
    select item_id, variant_a, variant_b, list(position || ': ' || winner order by position) as orders,
           count(distinct winner) as distinct_winners, any_value(rationale) as rationale
    from pairwise_judgments
    where judge_version = $version and winner is not null
    group by all
)
select v.item_id, v.variant_a, v.variant_b, v.orders, v.rationale,
       (select c.messages[-1].content from candidate_responses c where c.item_id = v.item_id limit 1) as query,
       (select c.response from candidate_responses c where c.item_id = v.item_id and c.variant = v.variant_a limit 1),
       (select c.response from candidate_responses c where c.item_id = v.item_id and c.variant = v.variant_b limit 1)
from verdicts v
where v.distinct_winners > 1
order by v.item_id, v.variant_a, v.variant_b
limit $limit
