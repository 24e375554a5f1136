create table if not exists user_metrics (
    experiment_id varchar not null,  -- the experiment
    user_id varchar not null,  -- the user's pseudonym (experiment_users.user_id)
    variant varchar not null,  -- the user's arm
    exposure_at timestamptz not null,  -- the user's exposure (first assignment); metric windows start here
    metric varchar not null,  -- a metric of the pre-registration: from metrics.yaml (events) or built in from the logs (thumbs_down_rate, latency_ms, ...)
    value double not null,  -- numerator (or the per-user value of a mean metric)
    denominator double not null,  -- 1 for mean metrics
    pre_value double not null,  -- the same metric before exposure (CUPED covariate)
    pre_denominator double not null  -- the pre-period denominator (1 for mean metrics)
)
