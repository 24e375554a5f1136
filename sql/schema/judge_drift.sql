create table if not exists judge_drift (
    month date not null,  -- the month (first day) compared with the anchor
    judge_version varchar not null,  -- the judge version checked for drift
    dimension varchar not null,  -- the rubric dimension
    method varchar not null,  -- rescored (the anchor set re-scored this month) or residual (judge - humans)
    anchor_month date not null,  -- the judge version's anchor month for this method (judge_anchors)
    n_anchor integer not null,  -- rescored: anchor items paired with this month's scores; residual: labelled items in the anchor month
    n_month integer not null,  -- rescored: the same pairs; residual: labelled items in this month
    anchor_mean double,  -- rescored: the mean of the anchor items' first scores (the earliest month re-scored); residual: the anchor month's mean residual
    month_mean double,  -- rescored: this month's mean re-score of the same items; residual: this month's mean residual (judge - human median)
    shift double,  -- month - anchor, in scale points
    shift_ci_low double,  -- lower end of the 95% interval of shift (t for rescored, Welch for residual); null when no test was run (see reason)
    shift_ci_high double,  -- upper end of that interval; null when no test was run
    test varchar not null,  -- wilcoxon signed-rank (paired) or mann-whitney (two samples), with (exact) or
                            -- (normal approximation); none when too few items
    p_value double,  -- the test's two-sided p; null when no test was run
    threshold double not null,  -- the smallest |shift| that counts as drift, in scale points (0.5 by default)
    drifted boolean not null,  -- |shift| >= threshold, the 95% interval excludes zero and p < 0.05
    computed_at timestamptz not null  -- when the month was computed
);
-- added after the first release: warehouses created before the column existed get it here (the
-- table itself is only created when missing)
alter table judge_drift add column if not exists reason varchar;  -- why no test was run (fewer than 10 items on a side); null when one was
