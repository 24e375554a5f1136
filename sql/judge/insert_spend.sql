-- One judging step's spend: calls, cost, the budget in force and the items it left unjudged.
insert into judge_spend
values ($scope, $run_id, $asset, $model, $calls, $cost_usd, $budget_usd, $skipped_budget, now())
