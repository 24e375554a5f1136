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
    shift_ci_low double,
    shift_ci_high double,
    test varchar not null,  -- wilcoxon signed-rank (paired) or mann-whitney (two samples)
    p_value double,
    threshold double not null,
    drifted boolean not null,  -- |shift| >= threshold and the 95% interval excludes zero
    computed_at timestamptz not null
)
