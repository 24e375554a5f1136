create table if not exists offline_online_correlation (
    quarter date not null,  -- computed over everything to the end of this quarter
    judge_version varchar not null,
    kind varchar not null,  -- experiment (pairs of judge delta and online effect) or request (AUC)
    dimension varchar not null,
    metric varchar not null,  -- an experiment metric, or thumbs_down / regenerated for kind request
    n integer not null,  -- experiment-variant pairs, or judged logged requests
    pearson double,
    pearson_ci_low double,
    pearson_ci_high double,
    spearman double,
    spearman_ci_low double,
    spearman_ci_high double,
    kendall double,
    kendall_ci_low double,
    kendall_ci_high double,
    sign_agreement double,  -- share of pairs where the judge-preferred variant did better online
    auc double,  -- kind request: a low judge score predicting the outcome
    auc_ci_low double,
    auc_ci_high double,
    slope double,  -- the calibration fit online_better ~ judge_delta (for forecasts)
    intercept double,
    residual_sd double,
    status varchar not null,  -- predictive (spearman >= 0.6), weak, insufficient (< 5 pairs)
    mismatches varchar[],  -- the largest disagreements, with their experiment ids
    computed_at timestamptz not null
)
