create table if not exists calibration_forecast (
    judge_version varchar not null,  -- the judge version whose scores and calibration fit are used
    candidate varchar not null,  -- a variant with offline scores only (candidate_responses)
    baseline varchar not null,  -- the variant the candidate is compared with (the asset's `baseline` config, default 'baseline')
    dimension varchar not null,  -- the rubric dimension of judge_delta
    n_items integer not null,  -- items both answered
    judge_delta double,  -- candidate - baseline mean judge score, paired
    judge_ci_low double,  -- lower end of judge_delta's 95% t interval; null under 2 items
    judge_ci_high double,  -- upper end of that interval
    metric varchar not null,  -- the online metric of the calibration fit
    fit_status varchar not null,  -- the calibration fit's status (predictive, weak, insufficient)
    fit_pairs integer not null,  -- experiment-variant pairs the fit rests on
    predicted_online_better double,  -- relative effect, positive = better for users
    prediction_low double,  -- lower end of the 95% prediction interval of predicted_online_better (wide when the fit rests on few pairs)
    prediction_high double,  -- upper end of that interval
    reference_experiment varchar,  -- whose control arm gives the mean and variance for sizing
    control_mean double,  -- the reference control arm's mean of the metric, in its units
    unit_sd double,  -- the reference control arm's per-user standard deviation (delta method for ratio metrics)
    required_n_per_arm bigint,  -- users per arm to detect the predicted effect (alpha 0.05, power 0.8)
    computed_at timestamptz not null  -- when the forecast was computed
)
