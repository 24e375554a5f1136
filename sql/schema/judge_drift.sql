create table if not exists judge_drift (
    month date not null,
    judge_version varchar not null,
    dimension varchar not null,
    method varchar not null,  -- rescored (the anchor set re-scored this month) or residual (judge - humans)
    anchor_month date not null,
    n_anchor integer not null,
    n_month integer not null,
    anchor_mean double,  -- rescored: the anchor's first scores; residual: the anchor month's mean residual
    month_mean double,
    shift double,  -- month - anchor, in scale points
    shift_ci_low double,  -- null when no test was run (see reason)
    shift_ci_high double,
    test varchar not null,  -- wilcoxon signed-rank (paired) or mann-whitney (two samples), with (exact) or
                            -- (normal approximation); none when too few items
    p_value double,
    threshold double not null,
    drifted boolean not null,  -- |shift| >= threshold, the 95% interval excludes zero and p < 0.05
    computed_at timestamptz not null
);
-- why no test was run (fewer than 10 items on a side); null when one was. Warehouses created
-- before the column existed get it here (the table itself is only created when missing).
alter table judge_drift add column if not exists reason varchar;
