-- What the judging steps of one budget scope (an `evalfunnel run`/`backfill` command, else a Dagster run) spent so far.
select coalesce(sum(cost_usd), 0) from judge_spend where budget_scope = $scope
