create table if not exists judge_spend (
    budget_scope varchar not null,  -- what one budget covers: the `evalfunnel run`/`backfill` command (its id), else the Dagster run
    run_id varchar not null,  -- the Dagster run that made the calls
    asset varchar not null,  -- the judging asset that called the judge
    model varchar not null,  -- the judge model (litellm model string)
    calls bigint not null,  -- provider calls made, retries and repairs included
    cost_usd double not null,  -- what they cost in USD by litellm's or the configured prices (0 for the local judge)
    budget_usd double,  -- the budget in force (EVALFUNNEL_JUDGE_BUDGET_USD / --budget-usd); null without one
    skipped_budget bigint not null,  -- items left unjudged because the budget would have been exceeded (not cached: a rerun with more budget judges them)
    recorded_at timestamptz not null  -- when the step recorded its spend
)
