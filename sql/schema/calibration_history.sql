create table if not exists calibration_history (
    period varchar not null,  -- month or quarter
    period_start date not null,
    judge_version varchar not null,
    -- month rows: the judge against humans (means over the rubric's dimensions) and drift
    dimensions integer,
    n_items integer,
    within_one_agreement double,
    kappa_quadratic double,
    human_human_kappa double,
    ok_dimensions integer,
    recalibrate_dimensions varchar[] not null,
    rubric_vague_dimensions varchar[] not null,
    pairwise_agreement double,
    position_consistency double,
    max_abs_drift double,
    drifted_dimensions varchar[] not null,
    -- quarter rows: offline against online, over every pair to the quarter's end
    pairs integer,
    best_spearman double,
    predictive varchar[],  -- 'dimension ~ metric' pairs with Spearman >= 0.6 on enough pairs
    auc_thumbs_down double,  -- the best dimension's request-level AUC
    mismatches integer,
    computed_at timestamptz not null
)
