-- the judge version a month's label queue serves: the one that scored the most logged requests of
-- the month, a judge the team configured or imported before the built-in heuristic baseline
-- (evalfunnel/heuristic, a placeholder); ties: the first by name
select j.judge_version
from judge_scores j
join clean_logs c on c.request_id = j.item_id and c.log_date >= $start::date and c.log_date < $end::date
where j.score is not null
group by 1
order by bool_and(j.judge_model like 'evalfunnel/%'), count(distinct (j.item_id, coalesce(j.variant, ''))) desc, 1
limit 1
