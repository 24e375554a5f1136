create table if not exists calibration_history (
    period varchar not null,  -- month or quarter
    period_start date not null,  -- the period's first day
    judge_version varchar not null,  -- the judge version the row summarizes
    -- month rows: the judge against humans (means over the rubric's dimensions) and drift
    dimensions integer,  -- dimensions with a whole-month pointwise judge_human_agreement row
    n_items integer,  -- the most items any of those dimensions had
    within_one_agreement double,  -- mean over the dimensions of judge_human_agreement.within_one_agreement
    kappa_quadratic double,  -- mean over the dimensions of the judge's quadratic-weighted kappa
    human_human_kappa double,  -- mean over the dimensions of the annotators' kappa (the ceiling)
    ok_dimensions integer,  -- dimensions with status ok
    recalibrate_dimensions varchar[] not null,  -- dimensions with status recalibrate ([] on quarter rows)
    rubric_vague_dimensions varchar[] not null,  -- dimensions with status rubric_vague ([] on quarter rows)
    pairwise_agreement double,  -- the month's pairwise agreement_with_ties (judge_human_agreement)
    position_consistency double,  -- the month's pairwise position_consistency
    max_abs_drift double,  -- the largest |shift| in judge_drift, over dimensions and methods, in scale points
    drifted_dimensions varchar[] not null,  -- dimensions with a drifted judge_drift row ([] on quarter rows)
    -- quarter rows: offline against online, over every pair to the quarter's end
    pairs integer,  -- the most experiment-variant pairs behind any dimension-metric correlation
    best_spearman double,  -- the highest Spearman among experiment rows with enough pairs
    predictive varchar[],  -- 'dimension ~ metric' pairs with Spearman >= 0.6 on enough pairs
    auc_thumbs_down double,  -- the best dimension's request-level AUC
    mismatches integer,  -- mismatches listed over the quarter's experiment rows (offline_online_correlation.mismatches)
    computed_at timestamptz not null  -- when the history was rebuilt (it is rebuilt whole)
)
