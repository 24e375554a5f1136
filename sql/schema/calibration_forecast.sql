create table if not exists calibration_forecast (
    judge_version varchar not null,
    candidate varchar not null,  -- a variant with offline scores only (candidate_responses)
    baseline varchar not null,
    dimension varchar not null,
    n_items integer not null,  -- items both answered
    judge_delta double,  -- candidate - baseline mean judge score, paired
    judge_ci_low double,
    judge_ci_high double,
    metric varchar not null,
    fit_status varchar not null,  -- the calibration fit's status (predictive, weak, insufficient)
    fit_pairs integer not null,
    predicted_online_better double,  -- relative effect, positive = better for users
    prediction_low double,  -- 95% prediction interval
    prediction_high double,
    reference_experiment varchar,  -- whose control arm gives the mean and variance for sizing
    control_mean double,
    unit_sd double,
    required_n_per_arm bigint,  -- users per arm to detect the predicted effect (alpha 0.05, power 0.8)
    computed_at timestamptz not null
)
