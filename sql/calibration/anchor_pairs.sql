-- each anchor item's first score (the earliest month re-scored) next to this month's
with first as (
    select item_id, score from judge_anchor_scores
    where judge_version = $v and dimension = $d
      and month = (select min(month) from judge_anchor_scores where judge_version = $v)
)
select f.score, m.score
from first f
join judge_anchor_scores m on m.item_id = f.item_id
where m.judge_version = $v and m.dimension = $d and m.month = $m
order by f.item_id
