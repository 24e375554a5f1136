create table if not exists judge_human_agreement (
    month date not null,  -- labels made in this month
    judge_version varchar not null,
    kind varchar not null,  -- pointwise or pairwise
    dimension varchar not null,  -- a rubric dimension; 'preference' for pairwise rows
    slice_dimension varchar,  -- null for the whole month; 'topic' for a topic with enough items
    slice_value varchar,
    n_items integer not null,
    n_labels integer not null,
    annotators integer not null,
    exact_agreement double,  -- judge == human consensus (median, rounded half up)
    within_one_agreement double,  -- |judge - consensus| <= 1: "agreement" in the status rule
    within_one_ci_low double,
    within_one_ci_high double,
    kappa double,  -- Cohen's kappa, judge against consensus
    kappa_linear double,
    kappa_quadratic double,  -- "kappa" in the status rule
    kappa_quadratic_ci_low double,
    kappa_quadratic_ci_high double,
    alpha_humans double,  -- Krippendorff's alpha (ordinal) among the annotators
    alpha_with_judge double,  -- the same with the judge as one more coder
    human_human_kappa double,  -- mean pairwise quadratic kappa of annotators: the ceiling
    spearman double,
    spearman_ci_low double,
    spearman_ci_high double,
    agreement_with_ties double,  -- pairwise
    agreement_without_ties double,
    position_consistency double,
    status varchar not null,  -- ok, recalibrate, rubric_vague, insufficient_data
    computed_at timestamptz not null
)
