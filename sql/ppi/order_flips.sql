-- items on which a pairwise verdict of any judge version changed with the order the pair was shown in
select distinct item_id
from pairwise_judgments
where winner is not null
group by item_id, variant_a, variant_b, judge_version
having count(distinct winner) > 1
