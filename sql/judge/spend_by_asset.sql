-- A command's judge spend per judging step, in the order the steps ran (the CLI's closing summary).
select asset, sum(calls)::bigint, sum(cost_usd), sum(skipped_budget)::bigint
from judge_spend
where budget_scope = $scope
group by asset
order by min(recorded_at)
