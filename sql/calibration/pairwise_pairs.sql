-- the month's pairwise human labels next to every judge version's verdicts (both orders) on
-- the same item and pair; pairs are stored in sorted variant order on both sides
select l.item_id, l.variant_a, l.variant_b, l.annotator_id, l.winner as human, j.judge_version, j.position,
       case when j.variant_a <= j.variant_b or j.winner = 'tie' then j.winner
            when j.winner = 'a' then 'b' else 'a' end as judge
from human_labels l
join pairwise_judgments j on j.item_id = l.item_id
    and least(j.variant_a, j.variant_b) = l.variant_a and greatest(j.variant_a, j.variant_b) = l.variant_b
    and j.winner is not null
where l.kind = 'pairwise' and l.labeled_at >= $start::timestamptz and l.labeled_at < $end::timestamptz

-- a fixed order: the bootstrap resamples items by position, so the same data gives the same CIs
order by l.item_id, l.variant_a, l.variant_b, l.annotator_id, j.judge_version, j.position
