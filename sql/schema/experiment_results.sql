create table if not exists experiment_results (
    experiment_id varchar not null,
    metric varchar not null,
    role varchar not null,  -- primary, guardrail, secondary
    variant varchar not null,  -- the treatment
    control varchar not null,
    analysis varchar not null,  -- overall, cuped, sequential, segment
    segment_dimension varchar,
    segment_value varchar,
    method varchar not null,
    higher_is_better boolean not null,
    n_control bigint not null,
    n_treatment bigint not null,
    mean_control double,
    mean_treatment double,
    diff double,
    diff_ci_low double,
    diff_ci_high double,
    rel_diff double,
    rel_ci_low double,
    rel_ci_high double,
    p_value double,
    p_value_holm double,
    significant boolean,
    chance_to_win double,
    expected_loss double,
    variance_reduction double,
    ni_margin double,
    ni_p_value double,
    ni_passed boolean,
    heterogeneity_p double,  -- Cochran's Q per segment dimension; on the overall row the smallest Holm-adjusted p
    achieved_mde_rel double,
    required_n_per_arm bigint,
    srm_invalid boolean not null,
    reason varchar,
    analyzed_at timestamptz not null
);
-- added after the first release: existing warehouses get the column on connect
alter table experiment_results add column if not exists excluded_values bigint;  -- users left out of this comparison: a value that is not a finite number (NaN, infinity)
