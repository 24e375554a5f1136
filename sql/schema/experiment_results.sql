create table if not exists experiment_results (
    experiment_id varchar not null,  -- the experiment
    metric varchar not null,  -- the metric compared (metrics.yaml or a built-in log metric)
    role varchar not null,  -- primary, guardrail, secondary
    variant varchar not null,  -- the treatment
    control varchar not null,  -- the pre-registered control variant
    analysis varchar not null,  -- overall, cuped, sequential, segment
    segment_dimension varchar,  -- segment rows: the segment dimension (user_segments.dimension); null otherwise
    segment_value varchar,  -- segment rows: the segment's value; null otherwise
    method varchar not null,  -- the estimator: welch or delta-method ratio (with ', sequential (N*=...)'), cuped (theta=...), or segment
    higher_is_better boolean not null,  -- the metric's direction, from its definition
    n_control bigint not null,  -- users in the control arm with a finite value
    n_treatment bigint not null,  -- users in the treatment arm with a finite value
    mean_control double,  -- the control arm's mean (ratio metrics: sum of values / sum of denominators), in the metric's units
    mean_treatment double,  -- the treatment arm's mean, likewise
    diff double,  -- mean_treatment - mean_control, in the metric's units
    diff_ci_low double,  -- lower end of the (1 - alpha) interval of diff (Welch's t, normal, or the always-valid confidence sequence)
    diff_ci_high double,  -- upper end of that interval
    rel_diff double,  -- mean_treatment / mean_control - 1
    rel_ci_low double,  -- lower end of Fieller's interval of rel_diff; null when the control mean is not distinguishable from 0
    rel_ci_high double,  -- upper end of that interval
    p_value double,  -- two-sided p of the difference, unadjusted (always-valid for sequential rows)
    p_value_holm double,  -- Holm-adjusted across the treatment's primary metrics (primary overall or sequential rows only)
    significant boolean,  -- p_value_holm < alpha on primary rows, p_value < alpha on the others; null without a test
    chance_to_win double,  -- Bayesian probability that the treatment is better in the metric's direction (flat prior, Gaussian posterior)
    expected_loss double,  -- expected loss of shipping the treatment, in the metric's units (Bayesian, as chance_to_win)
    variance_reduction double,  -- cuped rows: 1 - var(adjusted) / var(unadjusted), pooled over arms
    ni_margin double,  -- guardrails: the pre-registered non-inferiority margin, absolute, in the metric's units
    ni_p_value double,  -- guardrails: one-sided p against 'worse by more than the margin'
    ni_passed boolean,  -- guardrails: the one-sided (1 - alpha) bound on the harm is within the margin; null when untestable
    heterogeneity_p double,  -- Cochran's Q per segment dimension; on the overall row the smallest Holm-adjusted p
    achieved_mde_rel double,  -- relative effect detectable at the current sample with the pre-registered power (when power is given)
    required_n_per_arm bigint,  -- users per arm needed to detect the pre-registered relative MDE at alpha and power
    srm_invalid boolean not null,  -- the experiment failed the sample ratio check (p < 0.001): the results stay, flagged
    reason varchar,  -- why no estimate (an empty or single-user arm, zero variance, no denominator); null when estimated
    analyzed_at timestamptz not null  -- when the analysis ran
);
-- added after the first release: existing warehouses get the column on connect
alter table experiment_results add column if not exists excluded_values bigint;  -- users left out of this comparison: a value that is not a finite number (NaN, infinity)
