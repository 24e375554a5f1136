create table if not exists offline_online_correlation (
    quarter date not null,  -- computed over everything to the end of this quarter
    judge_version varchar not null,  -- the judge version whose scores are correlated
    kind varchar not null,  -- experiment (pairs of judge delta and online effect) or request (AUC)
    dimension varchar not null,  -- the rubric dimension
    metric varchar not null,  -- an experiment metric, or thumbs_down / regenerated for kind request
    n integer not null,  -- experiment-variant pairs, or judged logged requests
    pearson double,  -- kind experiment: Pearson correlation of judge_delta with online_better over the pairs
    pearson_ci_low double,  -- lower end of its 95% percentile bootstrap interval over pairs (1,000 resamples)
    pearson_ci_high double,  -- upper end of that interval
    spearman double,  -- kind experiment: Spearman correlation of judge_delta with online_better
    spearman_ci_low double,  -- lower end of its 95% bootstrap interval over pairs
    spearman_ci_high double,  -- upper end of that interval
    kendall double,  -- kind experiment: Kendall's tau-b of judge_delta with online_better
    kendall_ci_low double,  -- lower end of its 95% bootstrap interval over pairs
    kendall_ci_high double,  -- upper end of that interval
    sign_agreement double,  -- share of pairs where the judge-preferred variant did better online
    auc double,  -- kind request: a low judge score predicting the outcome
    auc_ci_low double,  -- lower end of the AUC's 95% bootstrap interval over requests
    auc_ci_high double,  -- upper end of that interval
    slope double,  -- the calibration fit online_better ~ judge_delta (for forecasts): least-squares slope over the pairs, null under 3 pairs
    intercept double,  -- the fit's intercept: online_better predicted at judge_delta 0
    residual_sd double,  -- the fit's residual standard deviation (n - 2 degrees of freedom), in online_better units
    status varchar not null,  -- predictive (spearman >= 0.6), weak, insufficient (< 5 pairs); request rows: predictive at AUC >= 0.6, insufficient under 50 responses or 10 of a class
    mismatches varchar[],  -- the largest disagreements, with their experiment ids
    computed_at timestamptz not null  -- when the quarter was computed
)
